"""The cron cursor through the job task's protocol: what each cron run starts from.

Real PostgreSQL and the real engines; each call of ``JobTask.run`` is one scheduled DAG run of a
cron job, as the operator would hand it.
"""

from __future__ import annotations

import json
import logging

import pytest
from adaptors import adaptors_repo
from task_helpers import PROJECT, identity, job_task, ledger

from openfn_airflow.runtime.engines import JobCode
from openfn_airflow.runtime.node import NodeEngine
from openfn_airflow.store import runs
from openfn_airflow.tasks import TaskTrigger, run_key

pytestmark = pytest.mark.integration

CRON = TaskTrigger(kind="cron", run_type="scheduled")
PAGE = 4_000  # what each run appends to references: about 13 runs reach 50,000 bytes

# A job in the manner of an OpenFn cron job: each run fetches a page (here: makes one), which
# lands in references, and keeps where it got to in ``cursor`` and a summary in ``data``.
GROWING_JOB = f"""
from openfn_airflow.runtime import fn


def sync(state):
    cursor = state.get("cursor", 0) + 1
    page = {{"cursor": cursor, "items": "x" * {PAGE}}}
    return {{
        **state,
        "cursor": cursor,
        "data": {{"last_page": cursor}},
        "references": [*state.get("references", []), page],
    }}


operations = [fn(sync)]
"""

# Its third run leaves a page of 60,000 bytes in data; every other run clears data, as OpenFn's
# docs advise (``state.data = {{}}``).
BLOATING_JOB = """
from openfn_airflow.runtime import fn


def sync(state):
    cursor = state.get("cursor", 0) + 1
    data = {"items": "x" * 60000} if cursor == 3 else {}
    return {**state, "cursor": cursor, "data": data}


operations = [fn(sync)]
"""


def compact_size(value) -> int:
    """Bytes of ``value`` as compact JSON: how the limit is documented to count."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def cron_runs(task, count: int, first: int = 1) -> None:
    for n in range(first, first + count):
        task.run(identity(f"scheduled__{n:03d}"), CRON)


@pytest.fixture
def growing(tmp_path, connect):
    job = tmp_path / "sync.py"
    job.write_text(GROWING_JOB)
    return job_task(connect, code=JobCode(str(job)))


def test_the_twentieth_cron_run_starts_from_the_nineteenth_cursor_without_references(
    conn, clean_db, growing
):
    cron_runs(growing, 20)

    rows = ledger(conn)
    assert [row["status"] for row in rows] == ["success"] * 20
    nineteenth, twentieth = rows[18], rows[19]
    assert nineteenth["final_state"]["cursor"] == 19
    # The 20 pages would be 80,000 bytes: carried along, they froze the cursor at run 13.
    assert twentieth["initial_state"] == {"cursor": 19, "data": {"last_page": 19}}
    assert twentieth["final_state"]["cursor"] == 20
    # The ledger keeps each run's final state whole: its references are the run's own page.
    assert [page["cursor"] for page in twentieth["final_state"]["references"]] == [20]


def test_a_success_job_still_gets_the_upstream_final_state_whole(conn, clean_db, growing, connect):
    cron_runs(growing, 2)
    upstream = ledger(conn)[-1]
    chained = job_task(
        connect, job="report", code=JobCode(growing.code.file)
    )  # the same file: the chained run's initial state is what matters here

    chained.run(
        identity("asset_triggered__1", dag_id=f"openfn__{PROJECT}__report"),
        TaskTrigger(
            kind="success", run_type="asset_triggered", partition_key=run_key(upstream["id"])
        ),
    )

    conn.rollback()
    [row] = runs.list_runs(conn, project=PROJECT, job="report", limit=5)
    run = runs.get_run(conn, row["id"])
    assert run["upstream_run_id"] == upstream["id"]
    assert run["initial_state"] == upstream["final_state"]
    assert "references" in run["initial_state"]


def test_a_final_state_over_the_limit_fails_its_run_and_the_next_starts_from_the_last_good_one(
    conn, clean_db, connect, tmp_path, caplog
):
    job = tmp_path / "bloat.py"
    job.write_text(BLOATING_JOB)
    task = job_task(connect, code=JobCode(str(job)), log=logging.getLogger("openfn.test_cursor"))

    with caplog.at_level(logging.INFO, logger="openfn.test_cursor"):
        cron_runs(task, 2)
        outcome = task.run(identity("scheduled__003"), CRON)
    cron_runs(task, 1, first=4)

    first, second, third, fourth = ledger(conn)
    # A cleared data is not carried: the next run starts as a first run would, with its cursor.
    assert second["initial_state"] == {"cursor": 1}
    size = compact_size({"cursor": 3, "data": {"items": "x" * 60000}})
    over = size - 50_000
    assert (third["status"], third["exit_code"]) == ("failed", 1)
    assert outcome.failures == [f"run {third['id']}: failed, exit 1"]
    assert (
        f"The final state is over the cursor limit: {size:,} bytes, {over:,} over "
        "[openfn] cursor_max_bytes (50,000)"
    ) in third["log"]
    assert "set data to {}" in third["log"] and "raise [openfn] cursor_max_bytes" in third["log"]
    assert "data: 60,0" in third["log"]  # which key is big
    # Airflow's task log says it too, with sizes only (the state may hold payload).
    told = [r.getMessage() for r in caplog.records if "over the cursor limit" in r.getMessage()]
    assert told and f"{over:,} over" in told[0] and "xxxx" not in told[0]
    # Never silently reused: the fourth run starts from the second's cursor, and fails as loudly.
    assert fourth["initial_state"] == {"cursor": 2}
    assert (fourth["status"], fourth["exit_code"]) == ("failed", 1)


def test_the_limit_is_the_tasks_option(conn, clean_db, growing):
    growing.cursor_max_bytes = 200  # one run's page alone is 4,000 bytes of references
    cron_runs(growing, 1)

    [row] = ledger(conn)
    assert row["status"] == "success"  # references are not carried, so they do not count

    growing.cursor_max_bytes = 20
    cron_runs(growing, 1, first=2)

    second = ledger(conn)[1]
    assert second["status"] == "failed"
    assert "[openfn] cursor_max_bytes (20)" in second["log"]


# A JavaScript cron job on language-common: each run appends 30,000 bytes to references, which
# froze the cursor at the second run; its third run leaves a page of 60,000 bytes in data.
JS_JOB = """
fn(state => {
  const cursor = (state.cursor || 0) + 1;
  return {
    ...state,
    cursor,
    data: cursor === 3 ? { items: 'x'.repeat(60000) } : {},
    references: [...(state.references || []), 'y'.repeat(30000)],
  };
});
"""


def test_a_javascript_cron_job_follows_the_same_rule(conn, clean_db, connect, tmp_path):
    job = tmp_path / "sync.js"
    job.write_text(JS_JOB)
    code = JobCode(
        str(job), adaptors=("@openfn/language-common@3.3.4",), adaptors_path=str(adaptors_repo())
    )
    task = job_task(connect, NodeEngine(spares=False), code=code)

    cron_runs(task, 3)

    first, second, third = ledger(conn)
    assert [first["status"], second["status"]] == ["success", "success"]
    assert second["initial_state"] == {"cursor": 1}
    assert third["initial_state"] == {"cursor": 2}
    assert (third["status"], third["exit_code"]) == ("failed", 1)
    assert "The final state is over the cursor limit" in third["log"]


def test_the_limit_is_an_openfn_option_the_operator_reads(monkeypatch):
    from openfn_airflow.dags.settings import cursor_max_bytes
    from openfn_airflow.provider import get_provider_info

    declared = get_provider_info()["config"]["openfn"]["options"]["cursor_max_bytes"]
    assert (declared["type"], declared["default"]) == ("integer", "50000")
    monkeypatch.delenv("AIRFLOW__OPENFN__CURSOR_MAX_BYTES", raising=False)
    assert cursor_max_bytes() == 50_000
    monkeypatch.setenv("AIRFLOW__OPENFN__CURSOR_MAX_BYTES", "200000")
    assert cursor_max_bytes() == 200_000
    monkeypatch.setenv("AIRFLOW__OPENFN__CURSOR_MAX_BYTES", "0")
    with pytest.raises(ValueError, match="set it to a number of bytes, at least 1"):
        cursor_max_bytes()
