"""Run log search: words inside URLs are words, and the whole log (up to 8 MiB) is searched."""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from factories import make_run
from psycopg.rows import dict_row

from openfn_airflow.store import run_search, schema
from openfn_airflow.store.filters import RunFilter

pytestmark = pytest.mark.integration

URL_LINE = "POST https://dhis2.example.org/api/patients?name=Ana&page=2#top -> 422"
CAP = 8 * 1024 * 1024


def found(conn: psycopg.Connection, text: str, project: str) -> list[int]:
    where = RunFilter(project=project, text=text)
    return [row["id"] for row in run_search.search_runs(conn, where, limit=50)]


def test_words_of_a_url_find_its_log(conn):
    run = make_run(conn, project="urls", log=f"Ran with Python\n{URL_LINE}\ndone")
    make_run(conn, project="urls", log="GET https://dhis2.example.org/api/events -> 200")

    for text in ("patients", "pati", "Ana", "page", "top", "api/patients", "422 patients"):
        assert found(conn, text, "urls") == [run["id"]], text
    # A pasted URL or path finds the log that holds it.
    assert found(conn, "https://dhis2.example.org/api/patients?name=Ana", "urls") == [run["id"]]
    assert found(conn, "/api/patients", "urls") == [run["id"]]
    assert found(conn, "patientz", "urls") == []
    assert found(conn, "patients events", "urls") == []


def test_a_word_deep_in_a_long_log_is_found(conn):
    line = "2026-12-03T07:48:50Z GET https://host/api/visits/ok -> 200\n"
    filler = line * (3 * 1024 * 1024 // len(line))  # 3 MiB, far past the old 256 KiB
    run = make_run(conn, project="deep", log=filler + "POST https://host/api/patients -> 422\n")

    assert found(conn, "patients", "deep") == [run["id"]]
    assert run_search.searchable_up_to(conn, run["id"]) is None


def test_past_8_mib_the_log_is_saved_and_the_run_says_how_far_search_reads(conn):
    line = "GET https://host/api/visits/ok -> 200\n"
    log = line * (CAP // len(line) + 1000) + "unreachableword\n"
    run = make_run(conn, project="capped", log=log)

    assert len(run["log"]) == len(log)  # stored whole: only the search stops
    assert found(conn, "visits", "capped") == [run["id"]]
    assert found(conn, "unreachableword", "capped") == []
    assert run_search.searchable_up_to(conn, run["id"]) == CAP


def test_a_log_with_more_distinct_words_than_a_tsvector_holds_is_still_saved(conn):
    # An id on every line: about 2.6 MB of distinct words, over a tsvector's 1 MiB.
    lines = [f"record {hashlib.md5(str(n).encode()).hexdigest()} rejected\n" for n in range(70000)]
    log = "first-line-word\n" + "".join(lines)
    run = make_run(conn, project="distinct", status="failed", log=log)

    assert found(conn, "first-line-word", "distinct") == [run["id"]]
    assert found(conn, "rejected", "distinct") == [run["id"]]
    up_to = run_search.searchable_up_to(conn, run["id"])
    assert up_to is not None and 0 < up_to < len(log)
    # It stops at a line end: the last line read is found whole.
    assert log[up_to - 1] == "\n"
    last_read = log[:up_to].splitlines()[-1].split()[1]
    assert found(conn, last_read, "distinct") == [run["id"]]


def test_0010_indexes_the_runs_stored_before_it(empty_database):
    url = empty_database()
    schema.migrate(url, "0008")
    with psycopg.connect(url) as old:
        old.execute(
            "INSERT INTO openfn_run (project, job, trigger, status, log) "
            "VALUES ('old', 'sync', 'manual', 'failed', %s)",
            [URL_LINE],
        )

    schema.migrate(url)

    with psycopg.connect(url, row_factory=dict_row) as conn:
        [row] = conn.execute("SELECT id FROM openfn_run").fetchall()
        assert found(conn, "patients", "old") == [row["id"]]
        # The search is answered from the new index (downgrade: test_store_schema.py).
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN SELECT id FROM openfn_run WHERE log_words @@ 'patients:*'::tsquery"
        ).fetchall()
        assert "openfn_run_log_search_idx" in " ".join(line["QUERY PLAN"] for line in plan)
