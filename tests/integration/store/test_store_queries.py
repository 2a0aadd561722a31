"""SQL lives in named blocks; the loader finds each one and refuses ambiguity."""

from __future__ import annotations

import pytest

from openfn_airflow.store.queries import expand_includes, parse_blocks, query

pytestmark = pytest.mark.integration


def test_blocks_run_from_their_header_to_the_next():
    text = "-- a file comment\n\n-- first --\nSELECT 1;\n\n-- second --\n-- a note\nSELECT 2;\n"

    assert parse_blocks(text, "x.sql") == {"first": "SELECT 1;", "second": "-- a note\nSELECT 2;"}


def test_a_block_defined_twice_is_an_error():
    with pytest.raises(ValueError, match=r"x.sql: the block -- first -- is defined twice"):
        parse_blocks("-- first --\nSELECT 1;\n-- first --\nSELECT 2;\n", "x.sql")


def test_queries_of_every_file_are_loaded_but_not_the_schema():
    assert query("start_run").startswith("INSERT INTO openfn_run")
    assert query("insert_message").startswith("INSERT INTO openfn_message")
    with pytest.raises(KeyError, match="no SQL block named 'create_tables'"):
        query("create_tables")


def test_a_block_can_include_another():
    blocks = {"filters": "a = %(a)s", "select": "SELECT 1 WHERE /* include filters */ AND b"}
    assert expand_includes(blocks)["select"] == "SELECT 1 WHERE a = %(a)s AND b"


def test_an_include_of_nothing_or_of_itself_is_an_error():
    with pytest.raises(ValueError, match="includes nope, which does not exist"):
        expand_includes({"a": "/* include nope */"})
    with pytest.raises(ValueError, match="includes itself: a -> b -> a"):
        expand_includes({"a": "/* include b */", "b": "/* include a */"})


def test_no_parameter_hides_in_a_comment():
    # COPY binds parameters client-side: a value with a newline inside a -- comment would end
    # the comment and run as SQL.
    for name in ("export_messages", "export_runs", "search_messages", "search_runs"):
        for line in query(name).splitlines():
            comment = line.partition("--")[2]
            assert "%(" not in comment, (name, line)


@pytest.mark.integration
def test_a_statement_past_its_budget_is_cancelled_and_the_transaction_goes_on(conn, monkeypatch):
    from openfn_airflow.store import queries
    from openfn_airflow.store.errors import StatementTimedOut

    statements = {"slow": "SELECT pg_sleep(2) AS n", "quick": "SELECT 1 AS n"}
    monkeypatch.setattr(queries, "query", statements.__getitem__)
    conn.execute("SET statement_timeout = '7s'")
    conn.execute("SELECT 1")  # a transaction is open, as in a request that listed first

    with pytest.raises(StatementTimedOut, match="slow took longer than 50 ms"):
        queries.fetch_one_within(conn, "slow", 50)
    assert queries.fetch_one_within(conn, "quick", 50) == {"n": 1}
    # the transaction is intact and the session's own timeout is back
    assert conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"] == "7s"
