"""A project's messages and runs past its retention go; their runs and everything recent stay."""

from __future__ import annotations

import pytest
from factories import make_message, make_run

from openfn_airflow.maintenance.activity import purge_expired
from openfn_airflow.store import runs

pytestmark = pytest.mark.integration

DAY = 86400.0


def backdate(conn, table: str, row_id: int, days: float) -> None:
    column = "received_at" if table == "openfn_message" else "created_at"
    conn.execute(
        f"UPDATE {table} SET {column} = now() - make_interval(days => %s) WHERE id = %s",
        [days, row_id],
    )


def old_message(conn, days: float, project: str = "clinic", **fields) -> int:
    message_id = make_message(conn, project=project, **fields)["id"]
    backdate(conn, "openfn_message", message_id, days)
    return message_id


def old_run(conn, days: float, project: str = "clinic", **fields) -> int:
    fields.setdefault("status", "success")
    run_id = make_run(conn, project=project, **fields)["id"]
    backdate(conn, "openfn_run", run_id, days)
    return run_id


def dispatch(conn, message_id: int, *, dispatched: bool = True) -> None:
    conn.execute(
        "INSERT INTO openfn_dispatch (message_id, project, trigger, dispatched_at) "
        "VALUES (%s, 'clinic', 'form', CASE WHEN %s THEN now() END)",
        [message_id, dispatched],
    )


def version(conn, message_id: int) -> None:
    conn.execute(
        "INSERT INTO openfn_message_version (message_id, body, changed_by) "
        "VALUES (%s, '{}', 'ada')",
        [message_id],
    )


def count(conn, table: str, column: str, value: int) -> int:
    conn.rollback()
    return conn.execute(
        f"SELECT count(*) AS n FROM {table} WHERE {column} = %s", [value]
    ).fetchone()["n"]


def message_exists(conn, message_id: int) -> bool:
    return count(conn, "openfn_message", "id", message_id) == 1


def run_exists(conn, run_id: int) -> bool:
    return count(conn, "openfn_run", "id", run_id) == 1


def attach(conn, message_id: int) -> None:
    from odk import PHOTO

    from openfn_airflow.inbox.multipart import Attachment
    from openfn_airflow.store import attachments

    attachments.add_attachments(conn, message_id, [Attachment("a.jpg", "a", "image/jpeg", PHOTO)])


def test_expired_messages_go_with_deliveries_versions_and_files_and_their_runs_stay(
    conn, clean_db, db_url
):
    expired = old_message(conn, 100)
    dispatch(conn, expired)
    version(conn, expired)
    attach(conn, expired)
    kept_message = old_message(conn, 10)
    attach(conn, kept_message)
    # a run younger than the runs' period, of a message older than the messages' period
    run = old_run(conn, 10, message_id=expired, trigger="message", log="ran on the message")
    conn.commit()

    counts = purge_expired("messages", {"clinic": 90 * DAY}, url=db_url)

    assert not message_exists(conn, expired)
    assert count(conn, "openfn_dispatch", "message_id", expired) == 0
    assert count(conn, "openfn_message_version", "message_id", expired) == 0
    assert count(conn, "openfn_attachment", "message_id", expired) == 0
    assert count(conn, "openfn_attachment", "message_id", kept_message) == 1
    kept = runs.get_run(conn, run)
    assert kept is not None and kept["message_id"] is None
    assert kept["log"] == "ran on the message"  # its log stays until the runs' own period
    assert kept["status"] == "success" and kept["exit_code"] == 0
    assert counts["clinic"] == {
        "openfn_attachment": 1,
        "openfn_dispatch": 1,
        "openfn_message": 1,
        "openfn_message_version": 1,
        "openfn_run (message set to null)": 1,
        "openfn_run (states purged)": 1,
    }


def test_the_runs_of_an_expired_message_keep_nothing_of_its_payload(conn, clean_db, db_url):
    body = {"patient": "Ada Lovelace"}
    expired = old_message(conn, 100, body=body, headers={"x-case": "Ada Lovelace"})
    state = {"data": body, "request": {"headers": {"x-case": "Ada Lovelace"}}, "references": []}
    run = old_run(
        conn,
        10,
        message_id=expired,
        trigger="message",
        initial_state=state,
        final_state={"data": {"ok": 1}, "references": [body]},
        log="done",
    )
    # chained on its success (the upstream's final state), and a failed retry (no final state)
    chained = old_run(
        conn,
        10,
        message_id=expired,
        trigger="success",
        upstream_run_id=run,
        initial_state={"data": {"ok": 1}, "references": [body]},
    )
    retry = old_run(
        conn,
        5,
        message_id=expired,
        trigger="retry",
        retry_of=run,
        initial_state=state,
        status="failed",
        final_state=None,
    )
    other = old_run(conn, 10, trigger="manual", initial_state={"data": "Ada Lovelace"})
    conn.commit()

    counts = purge_expired("messages", {"clinic": 90 * DAY}, url=db_url)

    assert counts["clinic"]["openfn_run (states purged)"] == 3
    for run_id in (run, chained, retry):
        row = runs.get_run(conn, run_id)
        assert row["initial_state"] == runs.PURGED_STATE, row
        assert "Ada" not in str(row)
    assert runs.get_run(conn, run)["final_state"] == runs.PURGED_STATE
    assert runs.get_run(conn, retry)["final_state"] is None  # the retry never finished
    assert runs.get_run(conn, retry)["status"] == "failed"
    # a run that was not of the message keeps its state
    assert runs.get_run(conn, other)["initial_state"] == {"data": "Ada Lovelace"}


def test_a_message_with_a_run_still_running_stays(conn, clean_db, db_url):
    message = old_message(conn, 100)
    make_run(conn, project="clinic", trigger="message", message_id=message)  # running
    conn.commit()

    purge_expired("messages", {"clinic": 90 * DAY}, url=db_url)

    # its final state, written when it ends, would hold the payload after the purge
    assert message_exists(conn, message)


def test_messages_within_the_period_and_messages_still_waiting_stay(conn, clean_db, db_url):
    recent = old_message(conn, 80)
    undelivered = old_message(conn, 100)
    dispatch(conn, undelivered, dispatched=False)  # the dispatcher has not scheduled it yet
    queued = old_message(conn, 100)
    make_run(conn, project="clinic", trigger="message", message_id=queued)  # a batched job's
    conn.execute("UPDATE openfn_run SET status = 'pending' WHERE message_id = %s", [queued])
    conn.commit()

    purge_expired("messages", {"clinic": 90 * DAY}, url=db_url)

    assert message_exists(conn, recent)
    assert message_exists(conn, undelivered) and message_exists(conn, queued)


def test_expired_runs_go_with_their_logs_and_their_retries_keep_their_history(
    conn, clean_db, db_url
):
    message = old_message(conn, 40)
    expired = old_run(conn, 40, message_id=message, trigger="message", log="old log")
    retry = old_run(conn, 5, retry_of=expired, trigger="retry", log="the retry")
    recent = old_run(conn, 20)
    conn.commit()

    counts = purge_expired("runs", {"clinic": 30 * DAY}, url=db_url)

    assert not run_exists(conn, expired)
    kept = runs.get_run(conn, retry)
    assert kept is not None and kept["retry_of"] is None and kept["log"] == "the retry"
    assert run_exists(conn, recent)
    assert message_exists(conn, message)  # the runs' period does not touch messages
    assert counts["clinic"] == {"openfn_run": 1, "openfn_run (retry_of set to null)": 1}


def test_pending_and_running_runs_stay_however_old(conn, clean_db, db_url):
    running = old_run(conn, 60, status="running")
    pending = make_run(conn, project="clinic")["id"]
    conn.execute("UPDATE openfn_run SET status = 'pending' WHERE id = %s", [pending])
    backdate(conn, "openfn_run", pending, 60)
    conn.commit()

    purge_expired("runs", {"clinic": 30 * DAY}, url=db_url)

    assert run_exists(conn, running) and run_exists(conn, pending)


def test_a_project_without_retention_keeps_everything(conn, clean_db, db_url):
    message = old_message(conn, 1000, project="archive")
    run = old_run(conn, 1000, project="archive", message_id=message, trigger="message")
    other = old_message(conn, 1000)  # a project with a period: only its own rows go
    conn.commit()

    counts = purge_expired("messages", {"archive": None, "clinic": 90 * DAY}, url=db_url)
    counts.update(purge_expired("runs", {"archive": None}, url=db_url))

    assert message_exists(conn, message) and run_exists(conn, run)
    assert runs.get_run(conn, run)["message_id"] == message
    assert not message_exists(conn, other)
    assert "archive" not in counts


def test_batches_go_until_nothing_is_left_and_running_again_deletes_nothing(conn, clean_db, db_url):
    messages = [old_message(conn, 100 + n) for n in range(7)]
    old_runs = [old_run(conn, 40 + n, message_id=messages[n], trigger="message") for n in range(5)]
    kept = old_message(conn, 1)
    conn.commit()

    first = purge_expired("messages", {"clinic": 90 * DAY}, batch_size=2, url=db_url)
    runs_first = purge_expired("runs", {"clinic": 30 * DAY}, batch_size=2, url=db_url)
    again = purge_expired("messages", {"clinic": 90 * DAY}, batch_size=2, url=db_url)
    runs_again = purge_expired("runs", {"clinic": 30 * DAY}, batch_size=2, url=db_url)

    assert first["clinic"]["openfn_message"] == 7
    assert runs_first["clinic"]["openfn_run"] == 5
    assert not any(message_exists(conn, m) for m in messages)
    assert not any(run_exists(conn, r) for r in old_runs)
    assert message_exists(conn, kept)
    assert again == {"clinic": {}} and runs_again == {"clinic": {}}
