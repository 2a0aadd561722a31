from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from openfn_airflow.runtime import (
    alter_state,
    as_,
    chunk,
    combine,
    compose_next_state,
    cursor,
    data_value,
    each,
    expand,
    field,
    fields,
    fn,
    fn_if,
    log,
    map,
    map_,
    merge,
    run_job,
    to_array,
)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def run(operations, state):
    """Run operations through run_job and return its result (final state asserted present)."""
    result = run_job(operations, state)
    assert result.exit_code == 0, result.log
    return result


def final(operations, state):
    return run(operations, state).final_state


def test_fn_and_alter_state():
    assert fn(lambda s: {**s, "x": 1})({"data": {}}) == {"data": {}, "x": 1}
    assert alter_state is fn


def test_fn_if_runs_only_when_the_condition_resolves_truthy():
    mark = fn(lambda s: {**s, "marked": True})
    assert "marked" not in fn_if(data_value("flag"), mark)({"data": {"flag": False}})
    assert fn_if(data_value("flag"), mark)({"data": {"flag": 1}})["marked"] is True
    assert fn_if(True, mark)({"data": {}})["marked"] is True


def test_each_threads_state_and_scopes_data_per_item():
    seen = []

    def count(state):
        seen.append((state["index"], state["data"]))
        return {**state, "total": state.get("total", 0) + state["data"]["n"]}

    state = final([each("$.data.items[*]", fn(count))], {"data": {"items": [{"n": 2}, {"n": 3}]}})
    assert seen == [(0, {"n": 2}), (1, {"n": 3})]
    assert state["total"] == 5
    # data is NOT restored after the loop (OpenFn semantics): it is the last item.
    assert state["data"] == {"n": 3}
    assert state["index"] == 1


def test_each_accepts_a_list_or_a_function_of_state():
    collect = fn(lambda s: {**s, "got": [*s.get("got", []), s["data"]]})
    assert each([1, 2], collect)({"data": {}})["got"] == [1, 2]
    assert each(lambda s: s["xs"], collect)({"xs": ["a"], "data": {}})["got"] == ["a"]
    assert each("$.data.none[*]", collect)({"data": {}}) == {"data": {}}


def test_each_refuses_a_source_that_is_not_a_list():
    with pytest.raises(TypeError, match=r"gave a dict, not a list .*\[\*\]"):
        each(lambda s: s["data"], fn(lambda s: s))({"data": {"a": 1}})
    with pytest.raises(TypeError, match="data source is empty"):
        each(None, fn(lambda s: s))


def test_map_sets_data_to_the_callback_results():
    state = {"data": {"people": [{"name": "a"}, {"name": "b"}]}, "cursor": "c"}
    result = map("$.data.people[*]", lambda item, i, s: f"{i}:{item['name']}:{s['cursor']}")(state)
    assert result["data"] == ["0:a:c", "1:b:c"]
    assert result["cursor"] == "c"
    assert map is map_


def test_map_accepts_async_callbacks():
    async def double(item, index, state):
        await asyncio.sleep(0)
        return item * 2

    assert final([map_([1, 2, 3], double)], {})["data"] == [2, 4, 6]


def test_combine_runs_operations_in_order_as_one():
    op = combine(fn(lambda s: {**s, "a": 1}), fn(lambda s: {**s, "b": s["a"] + 1}))
    assert op({"data": {}}) == {"data": {}, "a": 1, "b": 2}


def test_fields_and_lazy_values_in_nested_dicts():
    body = fields(
        field("name", data_value("form.name")), field("meta", {"src": lambda s: s["src"]})
    )
    state = {"data": {"form": {"name": "Ada"}}, "src": "odk"}
    result = final([fn(lambda s: {**s, "data": expand(body, s)})], state)
    assert result["data"] == {"name": "Ada", "meta": {"src": "odk"}}


def test_merge_adds_fields_to_every_item_resolved_once_against_state():
    state = {"data": {"books": [{"t": "a"}, {"t": "b"}]}, "publisher": "P"}
    merged = merge("$.data.books[*]", fields(field("publisher", lambda s: s["publisher"])))(state)
    assert merged == [{"t": "a", "publisher": "P"}, {"t": "b", "publisher": "P"}]


def test_compose_next_state_appends_the_old_data_to_references():
    state = {"data": {"old": 1}, "references": [{"older": 0}], "keep": True}
    assert compose_next_state(state, {"new": 2}) == {
        "data": {"new": 2},
        "references": [{"older": 0}, {"old": 1}],
        "keep": True,
    }
    assert compose_next_state({}, 5) == {"data": 5, "references": [None]}


def test_as_stores_the_result_under_a_key_and_keeps_data():
    fetch = fn(lambda s: compose_next_state(s, {"fetched": True}))
    result = as_("lookup", fetch)({"data": {"original": 1}, "references": []})
    assert result["lookup"] == {"fetched": True}
    assert result["data"] == {"original": 1}
    assert result["references"] == [{"original": 1}]


class TestCursor:
    def test_natural_words_become_iso_utc_strings(self):
        now = datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        state = final(
            [
                cursor("now", key="now"),
                cursor("today", key="today"),
                cursor("yesterday", key="yesterday"),
                cursor("start", key="start"),
                cursor("3 hours ago", key="hours"),
                cursor("2 days ago", key="days"),
            ],
            {},
        )
        for key in ("now", "today", "yesterday", "start", "hours", "days"):
            assert ISO.match(state[key]), (key, state[key])
        parse = lambda text: datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)  # noqa: E731
        assert abs(parse(state["now"]) - now) < timedelta(seconds=5)
        assert parse(state["today"]) == midnight
        assert parse(state["yesterday"]) == midnight - timedelta(days=1)
        assert abs(parse(state["hours"]) - (now - timedelta(hours=3))) < timedelta(seconds=5)
        assert parse(state["days"]) == midnight - timedelta(days=2)
        assert parse(state["start"]) <= parse(state["now"])

    def test_default_value_when_the_value_resolves_to_none(self):
        op = cursor(lambda s: s.get("cursor"), default_value="2020-01-01")
        assert op({})["cursor"] == "2020-01-01"
        assert op({"cursor": "2023-05-05"})["cursor"] == "2023-05-05"

    def test_plain_values_and_format(self):
        assert cursor(22)({})["cursor"] == 22
        assert cursor("today", format="%Y-%m-%d")({})["cursor"] == datetime.now(UTC).strftime(
            "%Y-%m-%d"
        )
        assert cursor(5, format=lambda v: v * 2)({})["cursor"] == 10

    def test_logs_what_it_set(self):
        result = run([cursor("today", key="since")], {})
        assert 'Setting since "today" to: ' in result.log


def test_log_prints_resolved_values_to_the_job_console():
    result = run(
        [log("patients:", data_value("ids"), {"n": lambda s: 2})], {"data": {"ids": [1, 2]}}
    )
    assert 'patients: [1, 2] {"n": 2}' in result.log


def test_async_operations_are_awaited():
    async def slow(state):
        await asyncio.sleep(0.01)
        return {**state, "async": True}

    assert final([slow, fn(lambda s: {**s, "after": s["async"]})], {})["after"] is True


def test_async_operation_inside_each():
    async def add(state):
        return {**state, "sum": state.get("sum", 0) + state["data"]}

    assert final([each([1, 2, 3], add)], {})["sum"] == 6


def test_chunk_and_to_array():
    assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError):
        chunk([1], 0)
    assert to_array([1, 2]) == [1, 2]
    assert to_array(3) == [3]
    assert to_array(None) == [None]
