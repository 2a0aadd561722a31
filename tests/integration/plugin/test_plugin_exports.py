"""CSV exports: the filtered rows, streamed, readable by the csv module, no formula cells."""

from __future__ import annotations

import csv
import io

import pytest
from factories import make_message, make_run
from plugin_helpers import API, ago, received

pytestmark = pytest.mark.integration

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def parse(answer) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(answer.text, newline="")))


def test_messages_csv_holds_the_filtered_messages(viewer, registry):
    ada = make_message(registry, project="core", body={"name": "Ada", "note": 'line1\nline2, "q"'})
    make_message(registry, project="core", body={"name": "Grace"})
    old = make_message(registry, project="core", body={"name": "Ada the elder"})
    received(registry, old["id"], ago(days=90))
    registry.execute(
        "INSERT INTO openfn_dispatch (message_id, project, trigger) VALUES (%s, 'core', 'forms')",
        [ada["id"]],
    )
    make_run(registry, project="core", job="intake", message_id=ada["id"], status="failed")
    registry.commit()

    rows = parse(viewer.get(f"{API}/messages.csv", params={"q": "ada"}))
    assert [int(row["id"]) for row in rows] == [ada["id"]]
    [row] = rows
    assert list(row) == [
        "id",
        "project",
        "received_at",
        "method",
        "path",
        "matched",
        "latest_run_status",
        "headers",
        "body",
    ]
    assert row["project"] == "core" and row["matched"] == "forms"
    assert row["latest_run_status"] == "failed"
    import json

    assert json.loads(row["body"]) == {"name": "Ada", "note": 'line1\nline2, "q"'}
    assert row["received_at"].endswith("Z")

    everything = parse(viewer.get(f"{API}/messages.csv", params={"received_after": "all"}))
    assert len(everything) == 3


def test_messages_csv_neutralises_formula_cells(viewer, registry):
    make_message(registry, project="=cmd|' /C calc'!A0", body=-3, path="@SUM(A1)")
    make_message(registry, project="+1", body={"a": 1}, path="\tx", method="-GET")
    registry.commit()
    rows = parse(viewer.get(f"{API}/messages.csv"))
    assert len(rows) == 2
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)
    assert rows[1]["project"] == "'=cmd|' /C calc'!A0" and rows[1]["body"] == "'-3"
    assert rows[1]["path"] == "'@SUM(A1)" and rows[0]["path"] == "'\tx"
    assert rows[0]["method"] == "'-GET" and rows[0]["project"] == "'+1"


def test_runs_csv_holds_the_filtered_runs_without_formulas(viewer, registry):
    wanted = make_run(registry, project="core", job='=HYPERLINK("x")', status="failed", log="oops")
    make_run(registry, project="core", job="intake", status="success", log="fine")
    registry.commit()
    rows = parse(viewer.get(f"{API}/runs.csv", params={"status": "failed", "q": "oops"}))
    [row] = rows
    assert int(row["id"]) == wanted["id"] and row["status"] == "failed"
    assert row["job"] == '\'=HYPERLINK("x")'
    assert {
        "id",
        "project",
        "job",
        "trigger",
        "status",
        "exit_code",
        "message_id",
        "retry_of",
        "started_at",
        "finished_at",
        "dag_id",
        "dag_run_id",
    } <= set(row)


def test_a_big_export_streams_every_row(viewer, registry):
    registry.execute(
        "INSERT INTO openfn_message (project, body) "
        "SELECT 'core', jsonb_build_object('n', n, 'pad', repeat('x', 200)) "
        "FROM generate_series(1, 20000) AS n"
    )
    registry.commit()
    with viewer.stream("GET", f"{API}/messages.csv") as answer:
        assert "content-length" not in answer.headers  # streamed, not built in memory
        chunks = sum(1 for _ in answer.iter_raw())
        assert answer.status_code == 200
    assert chunks > 1
    rows = parse(viewer.get(f"{API}/messages.csv"))
    assert len(rows) == 20000 and {int(r["id"]) for r in rows} == set(range(1, 20001))


def test_an_unknown_trigger_is_refused_before_the_download_starts(viewer, registry):
    answer = viewer.get(f"{API}/messages.csv", params={"project": "core", "trigger": "nope"})
    assert answer.status_code == 400


def test_runs_csv_has_no_log_column_unless_asked(viewer, registry):
    make_run(registry, project="core", job="intake", status="failed", log="secretless detail")
    registry.commit()
    [row] = parse(viewer.get(f"{API}/runs.csv"))
    assert "log" not in row and "secretless detail" not in row.values()
    [row] = parse(viewer.get(f"{API}/runs.csv", params={"include_log": "false"}))
    assert "log" not in row


def test_runs_csv_with_logs_holds_each_whole_log_without_formulas(viewer, registry):
    long_log = "Ran with Python\n" + 'POST https://host/api/patients -> 422, "x"\n' * 20000
    big = make_run(registry, project="core", job="intake", status="failed", log=long_log)
    formula = make_run(registry, project="core", job="intake", log="=cmd|' /C calc'!A0\nnext")
    make_run(registry, project="other", job="intake", log="not this project")
    registry.commit()
    csv.field_size_limit(2**31 - 1)  # Python's csv module refuses cells over 128 KiB by default

    rows = parse(viewer.get(f"{API}/runs.csv", params={"project": "core", "include_log": "true"}))

    assert [int(row["id"]) for row in rows] == [formula["id"], big["id"]]
    assert list(rows[0])[-1] == "log"
    assert rows[1]["log"] == long_log  # the whole log, past the old search limit, quotes intact
    assert rows[0]["log"] == "'=cmd|' /C calc'!A0\nnext"
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)


def test_runs_csv_with_logs_streams(viewer, registry):
    registry.execute(
        "INSERT INTO openfn_run (project, job, trigger, status, log) "
        "SELECT 'core', 'intake', 'manual', 'success', repeat('word ', 200) || n "
        "FROM generate_series(1, 3000) AS n"
    )
    registry.commit()
    with viewer.stream("GET", f"{API}/runs.csv", params={"include_log": "true"}) as answer:
        assert "content-length" not in answer.headers
        chunks = sum(1 for _ in answer.iter_raw())
        assert answer.status_code == 200
    assert chunks > 1


def test_runs_csv_refuses_an_include_log_that_is_not_a_yes_or_no(viewer):
    answer = viewer.get(f"{API}/runs.csv", params={"include_log": "maybe"})
    assert answer.status_code == 422
    assert "include_log" in answer.text
