"""Retention forgets a message's payload everywhere the system put it, and keeps its runs' logs.

A message with a unique word in its body and in a header is posted to a real api-server's inbox;
its job runs through the real scheduler (the job prints a second unique word), a job chained on
its success runs, and a manual run names the message through Airflow's REST API. Once the
messages' period has passed and the purge ran, a full ``pg_dump`` of the database and every file
under Airflow's log folder hold the payload's word nowhere; the runs keep their status, exit
code and log (the printed word), which Airflow's task logs do not copy.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cluster import Cluster, count_dags, fresh_start, wait_for

from openfn_airflow.maintenance.activity import purge_expired
from openfn_airflow.store import runs

pytestmark = [pytest.mark.integration, pytest.mark.scheduler]

REPO = Path(__file__).resolve().parents[3]
INBOX_ID = "0b4f4d1e-3c52-4a57-9d1e-6f1a2b3c4d5e"
PROJECT = f"""
    project: forget
    inbox:
      id: {INBOX_ID}
    triggers:
      notes: {{criteria: {{form: note}}}}
      noted: {{success: note}}
    jobs:
      note: {{file: jobs/note.py, trigger: notes}}
      after-note: {{file: jobs/note.py, trigger: noted}}
      by-hand: {{file: jobs/note.py, trigger: notes, autoprocess: false}}
"""
# A job as jobs are written: it logs something of the message and keeps the body among its
# references (OpenFn's final_state.references usually holds the message).
NOTE_JOB = """
    from openfn_airflow.runtime import fn


    def note(state):
        data = state.get("data") or {}
        print(f"shouting {data.get('shout')}")
        return {**state, "references": [*state["references"], data], "data": {"noted": True}}


    operations = [fn(note)]
"""
JOBS = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, sqlalchemy_url, db_url) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("forget-dags")
    shutil.copy2(REPO / "dags" / "openfn_jobs.py", folder)
    (folder / "forget" / "jobs").mkdir(parents=True)
    (folder / "forget" / "project.yaml").write_text(textwrap.dedent(PROJECT))
    (folder / "forget" / "jobs" / "note.py").write_text(textwrap.dedent(NOTE_JOB))
    fresh_start(db_url)
    started = Cluster(tmp_path_factory.mktemp("airflow-home-forget"), sqlalchemy_url, folder)
    started.start()
    try:
        wait_for(lambda: count_dags(db_url, "openfn__forget__") == JOBS, 180, "DAGs", started)
        inbox = f"{started.url}/openfn/inbox/{INBOX_ID}"
        wait_for(lambda: httpx.get(inbox).status_code == 200, 60, "the inbox", started)
        yield started
    finally:
        started.stop()


def finished(conn: Any, job: str) -> list[dict[str, Any]]:
    conn.rollback()
    rows = runs.list_runs(conn, project="forget", job=job, limit=100)
    return [runs.get_run(conn, r["id"]) for r in rows if r["status"] not in ("pending", "running")]


def files_holding(folder: Path, word: str) -> list[str]:
    needle = word.encode()
    return [
        str(path.relative_to(folder))
        for path in sorted(folder.rglob("*"))
        if path.is_file() and needle in path.read_bytes()
    ]


def test_a_message_past_its_period_leaves_no_trace_of_its_payload(cluster, conn, db_url):
    payload, printed = f"payload{uuid.uuid4().hex}", f"printed{uuid.uuid4().hex}"
    answer = httpx.post(
        f"{cluster.url}/openfn/inbox/{INBOX_ID}",
        json={"form": "note", "patient": payload, "shout": printed},
        headers={"X-Case-Note": f"about {payload}"},
    )
    assert answer.status_code == 202, answer.text
    message_id = answer.json()["message_id"]
    manual = cluster.api(
        "POST",
        "/dags/openfn__forget__by-hand/dagRuns",
        json={"logical_date": None, "conf": {"message_id": message_id}},
    )
    assert manual.status_code == 200, manual.text

    [run] = wait_for(lambda: finished(conn, "note"), 180, "the message's run", cluster)
    [by_hand] = wait_for(lambda: finished(conn, "by-hand"), 180, "the manual run", cluster)
    [chained] = wait_for(lambda: finished(conn, "after-note"), 180, "the chained run", cluster)
    for row in (run, by_hand, chained):
        assert (row["status"], row["exit_code"]) == ("success", 0), row["log"]
    assert run["initial_state"]["request"]["headers"]["x-case-note"] == f"about {payload}"
    assert payload in str(chained["initial_state"])  # the upstream's references hold the body

    purged = purge_expired("messages", {"forget": 0.0}, url=db_url)
    assert purged["forget"]["openfn_message"] == 1

    dump = subprocess.run(
        ["pg_dump", "--dbname", db_url], capture_output=True, text=True, check=True
    ).stdout
    assert printed in dump  # the runs' logs are in it: it is the database they were written to
    assert payload not in dump, [line[:300] for line in dump.splitlines() if payload in line]
    logs = cluster.home / "logs"
    assert any(logs.rglob("attempt=*.log")), "no task log was written"
    assert files_holding(logs, payload) == []
    assert files_holding(logs, printed) == []  # the job's log is the run's, not the task's

    for before in (run, by_hand, chained):
        after = runs.get_run(conn, before["id"])
        assert after is not None and after["message_id"] is None
        assert (after["status"], after["exit_code"]) == ("success", 0)
        assert (after["started_at"], after["finished_at"]) == (
            before["started_at"],
            before["finished_at"],
        )
        assert after["log"] == before["log"]  # the run's log stays until the runs' period
        assert after["initial_state"] == after["final_state"] == runs.PURGED_STATE
    assert printed in run["log"]


def test_a_submissions_files_leave_no_trace_either(cluster, conn, db_url):
    from odk import PHOTO, instance_xml, new_instance_id, odk_request

    word = f"filed{uuid.uuid4().hex}"
    photo_name, photo = f"{word}.jpg", PHOTO + word.encode()
    body, headers = odk_request(
        instance_xml(new_instance_id(), photo=photo_name, signature=None),
        [(photo_name, "image/jpeg", photo)],
    )
    answer = httpx.post(
        f"{cluster.url}/openfn/inbox/{INBOX_ID}/submission", content=body, headers=headers
    )
    assert answer.status_code == 201, answer.text
    message_id = int(answer.text.split("(message ", 1)[1].split(")", 1)[0])
    manual = cluster.api(
        "POST",
        "/dags/openfn__forget__by-hand/dagRuns",
        json={"logical_date": None, "conf": {"message_id": message_id}},
    )
    assert manual.status_code == 200, manual.text

    def the_run() -> list[dict[str, Any]]:
        return [r for r in finished(conn, "by-hand") if r["message_id"] == message_id]

    [run] = wait_for(the_run, 180, "the manual run on the submission", cluster)
    [named] = run["initial_state"]["request"]["attachments"]
    assert named["name"] == photo_name and named["size"] == len(photo)

    purged = purge_expired("messages", {"forget": 0.0}, url=db_url)
    assert purged["forget"]["openfn_attachment"] == 1

    dump = subprocess.run(
        ["pg_dump", "--dbname", db_url], capture_output=True, text=True, check=True
    ).stdout
    # pg_dump writes bytea as hex: neither the name nor the bytes are anywhere.
    assert word not in dump and word.encode().hex() not in dump
    assert files_holding(cluster.home / "logs", word) == []
    assert runs.get_run(conn, run["id"])["initial_state"] == runs.PURGED_STATE
