"""Durations as people write them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openfn_airflow.spec import parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("100s", 100.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("1500ms", 1.5),
        ("1.5h", 5400.0),
        ("2d", 172800.0),
        ("90", 90.0),
        (90, 90.0),
        (2.5, 2.5),
        (0, 0.0),
        (timedelta(minutes=2), 120.0),
    ],
)
def test_parses(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", '"abc" is not a duration (expected a number of seconds, or a number with a unit'),
        ("", '"" is not a duration'),
        ("1h30", '"1h30" is not a duration'),
        ("5 minutes", '"5 minutes" is not a duration'),
        ("1m1m", 'the unit "m" appears twice'),
        (-5, "it must be 0 or more seconds"),
        (float("inf"), "it must be 0 or more seconds"),
        (True, "True is not a duration"),
        (None, "expected a duration"),
        ([5], "expected a duration"),
    ],
)
def test_rejects_with_a_clear_message(value, message):
    with pytest.raises(ValueError) as caught:
        parse_duration(value)

    assert message in str(caught.value)
