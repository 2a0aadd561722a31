"""Typed reads of spec values: each read returns the value or records a problem naming the type."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping

from openfn_airflow.spec.durations import parse_duration
from openfn_airflow.spec.problems import Problems, SpecPath, did_you_mean

#: Job and trigger names; they become part of DAG ids and asset URIs.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NAME_RULE = "use letters, digits, '.', '-' and '_', starting with a letter or digit"


def describe(value: object) -> str:
    """Name a YAML value for a message: `"yes" (text)`, `0 (a number)`, `a list`."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    if isinstance(value, str):
        return f'"{value}" (text)'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.date):
        return f"{value} (a date)"
    return f"a {type(value).__name__}"


def expect_mapping(value: object, path: SpecPath, problems: Problems, what: str, hint: str = ""):
    """Return `value` if it is a mapping, else record that `what` was expected."""
    if isinstance(value, dict):
        return value
    problems.add(path, f"expected {what}, got {describe(value)}", hint)
    return None


def check_keys(
    mapping: Mapping[object, object],
    allowed: Iterable[str],
    path: SpecPath,
    problems: Problems,
    hints: Mapping[str, str] | None = None,
) -> None:
    """Record a problem for every key of `mapping` that is not `allowed`."""
    allowed = tuple(allowed)
    for key in mapping:
        if not isinstance(key, str):
            problems.add(
                (*path, str(key)), f"keys must be text, got {describe(key)}", f'quote it: "{key}"'
            )
            continue
        if key in allowed:
            continue
        hint = (hints or {}).get(key) or did_you_mean(key, allowed, listing="allowed keys")
        problems.add((*path, key), f'unknown key "{key}"', hint)


def check_name(name: object, path: SpecPath, problems: Problems, what: str) -> bool:
    """Tell whether `name` is a valid job or trigger name, recording a problem if not."""
    if not isinstance(name, str):
        problems.add(
            path, f"a {what} name must be text, got {describe(name)}", f'quote it: "{name}"'
        )
        return False
    if not NAME_PATTERN.fullmatch(name):
        problems.add(path, f'"{name}" is not a valid {what} name', NAME_RULE)
        return False
    return True


def read_bool(
    mapping: Mapping[str, object], key: str, path: SpecPath, problems: Problems, default: bool
) -> bool:
    value = mapping.get(key, default)
    if isinstance(value, bool):
        return value
    problems.add(
        (*path, key),
        f"expected true or false, got {describe(value)}",
        "write true or false, without quotes",
    )
    return default


def read_text(
    mapping: Mapping[str, object], key: str, path: SpecPath, problems: Problems, hint: str
) -> str | None:
    """Read optional text; a missing or null value is None."""
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value
    problems.add((*path, key), f"expected text, got {describe(value)}", hint)
    return None


def read_choice(
    mapping: Mapping[str, object],
    key: str,
    choices: tuple[str, ...],
    path: SpecPath,
    problems: Problems,
) -> str:
    """Read one of `choices`; the first choice is the default."""
    value = mapping.get(key, choices[0])
    if value in choices:
        return str(value)
    listed = " or ".join([", ".join(choices[:-1]), choices[-1]]) if len(choices) > 1 else choices[0]
    problems.add(
        (*path, key),
        f"expected {listed}, got {describe(value)}",
        did_you_mean(value, choices) or f"write {key}: {choices[0]}",
    )
    return choices[0]


def read_positive_int(
    mapping: Mapping[str, object], key: str, path: SpecPath, problems: Problems, hint: str
) -> int | None:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    problems.add((*path, key), f"expected a whole number of 1 or more, got {describe(value)}", hint)
    return None


def read_duration(
    mapping: Mapping[str, object], key: str, path: SpecPath, problems: Problems
) -> float | None:
    value = mapping.get(key)
    if value is None:
        return None
    hint = f"e.g. {key}: 100s"
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        problems.add((*path, key), str(error), hint)
        return None
    if seconds <= 0:
        problems.add(
            (*path, key), f"expected a duration of more than 0 seconds, got {value!r}", hint
        )
        return None
    return seconds


def read_text_list(
    mapping: Mapping[str, object],
    key: str,
    path: SpecPath,
    problems: Problems,
    max_length: int | None = None,
) -> tuple[str, ...]:
    value = mapping.get(key)
    if value is None:
        return ()
    hint = f"write a list of text, e.g. {key}: [a, b]"
    if not isinstance(value, list):
        problems.add((*path, key), f"expected a list of text, got {describe(value)}", hint)
        return ()
    items: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problems.add((*path, key, index), f"expected text, got {describe(item)}", hint)
        elif max_length is not None and len(item) > max_length:
            problems.add(
                (*path, key, index),
                f'"{item}" is {len(item)} characters long',
                f"keep each entry to {max_length} characters",
            )
        elif item not in items:
            items.append(item)
    return tuple(items)
