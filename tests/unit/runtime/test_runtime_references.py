from __future__ import annotations

import pytest

from openfn_airflow.runtime import (
    data_path,
    data_value,
    expand,
    field,
    fields,
    json_value,
    last_reference_value,
    reference_path,
    source,
    source_value,
)

STATE = {
    "data": {
        "form": {"name": "Ada", "patient-id": "p1", "visits": [{"n": 1}, {"n": 2}]},
        "items": [{"id": 1, "ok": True}, {"id": 2, "ok": False}, {"id": 3, "ok": True}],
    },
    "references": [{"id": "first"}, {"id": "second"}],
    "cursor": "2024-01-01",
}


def test_data_value_is_a_function_of_state():
    getter = data_value("form.name")
    assert callable(getter)
    assert getter(STATE) == "Ada"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("form.name", "Ada"),
        ("$.form.name", "Ada"),
        (".form.name", "Ada"),
        ("form.patient-id", "p1"),
        ("form['patient-id']", "p1"),
        ("form.visits[1].n", 2),
        ("form.visits[-1].n", 2),
        ("form.missing", None),
        ("form.name.deeper", None),
        ("items[9]", None),
    ],
)
def test_data_value_paths(path, expected):
    assert data_value(path)(STATE) == expected


def test_jsonpath_wildcards_and_filters_use_the_full_parser():
    assert source("$.data.items[*].id")(STATE) == [1, 2, 3]
    assert source("$.data.items[?(@.ok == true)].id")(STATE) == [1, 3]
    assert source_value("$..n")(STATE) == 1
    assert source("$.data.nothing[*]")(STATE) == []


def test_source_on_a_list_path_matches_the_list_itself():
    # OpenFn semantics: without [*] the single match is the whole list.
    assert source("$.data.items")(STATE) == [STATE["data"]["items"]]


def test_invalid_jsonpath_names_the_path():
    with pytest.raises(ValueError, match=r"invalid JSONPath '\$\.data\[\?\('"):
        source("$.data[?(")(STATE)


def test_path_builders():
    assert data_path("a.b") == "$.data.a.b"
    assert data_path("$.a.b") == "$.data.a.b"
    assert reference_path("[0].id") == "$.references[0].id"
    assert reference_path("$[1].id") == "$.references[1].id"


def test_last_reference_value_reads_the_first_reference_v1_quirk():
    # compose_next_state appends, so references[0] is the OLDEST; v1 jobs rely on this.
    assert last_reference_value("id")(STATE) == "first"


def test_json_value_is_not_lazy():
    assert json_value({"a": {"b": [5, 6]}}, "a.b[1]") == 6
    assert json_value({"a": 1}, "$.z") is None


def test_expand_resolves_functions_inside_containers():
    value = {
        "name": data_value("form.name"),
        "static": 7,
        "nested": [lambda s: s["cursor"], ("x", data_value("items[0].id"))],
        "fields": fields(field("id", data_value("form.patient-id")), field("n", 1)),
    }
    assert expand(value, STATE) == {
        "name": "Ada",
        "static": 7,
        "nested": ["2024-01-01", ("x", 1)],
        "fields": {"id": "p1", "n": 1},
    }


def test_expand_expands_what_a_function_returns():
    assert expand(lambda s: {"later": data_value("form.name")}, STATE) == {"later": "Ada"}


def test_expand_returns_unchanged_containers_without_copying():
    plain = {"a": [1, 2, {"b": "c"}]}
    assert expand(plain, STATE) is plain
    assert expand("text", STATE) == "text"
