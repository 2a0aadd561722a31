"""A run whose states retention purged with its message starts nothing on the purged marker."""

from __future__ import annotations

import pytest
from factories import make_message, make_run

from openfn_airflow.maintenance.activity import purge_expired
from openfn_airflow.store import runs
from openfn_airflow.tasks.inputs import TaskTrigger, plan_runs, repeat_input, run_key

pytestmark = pytest.mark.integration


def purged_run(conn, db_url: str, **fields) -> int:
    """A finished run of project p's message, whose message then passed its period."""
    message = make_message(conn, project="p", body={"name": "Ada"})["id"]
    state = {"data": {"name": "Ada"}, "references": []}
    run = make_run(
        conn,
        project="p",
        job="j",
        trigger="message",
        message_id=message,
        initial_state=state,
        **fields,
    )["id"]
    conn.commit()
    purge_expired("messages", {"p": 0.0}, url=db_url)
    conn.rollback()
    assert runs.get_run(conn, run)["initial_state"] == runs.PURGED_STATE
    return run


def test_retrying_a_purged_run_cannot_start(conn, clean_db, db_url):
    run = purged_run(conn, db_url, status="failed")

    retry = repeat_input(conn, run, project="p", job="j")

    assert retry.problem is not None and "retention" in retry.problem
    assert retry.initial_state == runs.PURGED_STATE  # never run: the problem is exit 3


@pytest.mark.parametrize("kind", ["success", "failure"])
def test_a_job_chained_on_a_purged_run_cannot_start(conn, clean_db, db_url, kind):
    run = purged_run(conn, db_url, status="success" if kind == "success" else "failed")
    trigger = TaskTrigger(kind=kind, run_type="asset_triggered", partition_key=run_key(run))

    [chained] = plan_runs(conn, "p", "after", trigger)

    assert chained.initial_state is None and "retention" in (chained.problem or "")
    assert chained.upstream_run_id == run


def test_the_cron_cursor_skips_a_purged_state(conn, clean_db, db_url):
    make_run(conn, project="p", job="j", trigger="cron", final_state={"cursor": 41})
    purged_run(conn, db_url, status="success")

    assert runs.get_cursor_state(conn, "p", "j") == {"cursor": 41}


def test_a_run_on_a_message_is_never_the_cron_cursor(conn, clean_db):
    # Cron runs carry their cursor on for ever: a message's payload must not ride along.
    make_run(conn, project="p", job="j", trigger="cron", final_state={"cursor": 7})
    message = make_message(conn, project="p", body={"name": "Ada"})["id"]
    make_run(
        conn,
        project="p",
        job="j",
        trigger="manual",
        message_id=message,
        final_state={"data": {"name": "Ada"}},
    )
    conn.commit()

    assert runs.get_cursor_state(conn, "p", "j") == {"cursor": 7}
