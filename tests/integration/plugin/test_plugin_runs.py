"""The runs API: filters, one run, and bulk retry as new DAG runs recorded against the old runs."""

from __future__ import annotations

import pytest
from factories import make_message, make_run
from plugin_helpers import API, ago, created

from openfn_airflow.store import runs

pytestmark = pytest.mark.integration


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def run(conn, job="after-success", **fields) -> int:
    fields.setdefault("status", "success")
    fields.setdefault("dag_id", f"openfn__core__{job}")
    return make_run(conn, project="core", job=job, **fields)["id"]


def test_runs_filter_by_job_status_log_text_and_dates(viewer, registry):
    ok = run(registry, log="posted patient 42 to DHIS2\n")
    failed = run(registry, job="intake", status="failed", log="HTTP 422 from DHIS2: invalid\n")
    crashed = run(registry, job="intake", status="crashed", log="Could not start\n")
    old = run(registry, log="posted patient 7\n")
    created(registry, old, ago(days=40))
    registry.commit()

    def listed(**params) -> list[int]:
        return ids(viewer.get(f"{API}/runs", params=params))

    assert listed() == [crashed, failed, ok]
    assert listed(job="intake") == [crashed, failed]
    assert listed(status=["failed", "crashed"]) == [crashed, failed]
    assert listed(q="dhis") == [failed, ok]
    assert listed(q="pati post") == [ok]
    assert listed(q="pati", after="all") == [old, ok]
    assert listed(after="60d", before=ago(days=30).isoformat()) == [old]
    assert viewer.get(f"{API}/runs", params={"status": "weird"}).status_code == 422


def test_runs_of_a_message_and_pagination(viewer, registry):
    message_id = make_message(registry, project="core", body={"form": "intake"})["id"]
    made = [run(registry, job="intake", message_id=message_id) for _ in range(5)]
    run(registry)
    registry.commit()
    page = viewer.get(f"{API}/runs", params={"message_id": message_id, "limit": 2}).json()
    assert page["total"] == 5 and [i["id"] for i in page["items"]] == made[:-3:-1]
    rest = viewer.get(
        f"{API}/runs", params={"message_id": message_id, "limit": 5, "before_id": page["next"]}
    ).json()
    assert [i["id"] for i in rest["items"]] == made[2::-1] and rest["next"] is None


def test_one_run_with_log_states_and_exit_meaning(viewer, registry):
    run_id = run(
        registry,
        job="intake",
        status="failed",
        exit_code=1,
        log="boom\n",
        initial_state={"data": {"a": 1}},
        final_state=None,
    )
    retry = run(registry, job="intake", retry_of=run_id)
    registry.commit()
    shown = viewer.get(f"{API}/runs/{run_id}").json()
    assert shown["log"] == "boom\n" and shown["initial_state"] == {"data": {"a": 1}}
    assert shown["final_state"] is None and shown["exit_code"] == 1
    assert shown["exit_meaning"] == "the job raised an error"
    assert shown["retried_by"] == [retry]
    for key in (
        "project",
        "job",
        "message_id",
        "trigger",
        "status",
        "started_at",
        "finished_at",
        "retry_of",
        "dag_id",
        "dag_run_id",
    ):
        assert key in shown
    assert viewer.get(f"{API}/runs/999999").status_code == 404


def dag_runs(conn) -> list[dict]:
    conn.rollback()
    return conn.execute(
        "SELECT dag_id, run_id, run_type, state, conf, triggering_user_name FROM dag_run "
        "WHERE run_id LIKE 'openfn_retry__%%' ORDER BY id"
    ).fetchall()


@pytest.fixture
def retryable(registry, no_retry_dag_runs):
    """Runs of every kind a bulk retry must tell apart, by name."""
    conn = registry
    made = {
        "failed": run(conn, status="failed", initial_state={"data": {"n": 1}}),
        "succeeded": run(conn, initial_state={"data": {"n": 2}}),
        "intake_failed": run(conn, job="intake", status="failed"),
        "switched_off": run(conn, job="switched-off", status="failed"),
        "running": run(conn, status="running"),
        "never_started": run(conn, status="crashed", initial_state=None),
        "already_retried": run(conn, status="failed"),
    }
    made["its_retry"] = run(conn, status="success", retry_of=made["already_retried"])
    made["chained"] = run(
        conn,
        job="after-failure",
        trigger="failure",
        status="failed",
        upstream_run_id=made["intake_failed"],
    )
    conn.commit()
    return made


def test_retry_dry_run_counts_what_a_retry_would_do(admin, registry, retryable):
    answer = admin.post(
        f"{API}/runs/retry", json={"dry_run": True, "status": ["failed", "crashed"]}
    )
    assert answer.status_code == 200, answer.text
    # Not: succeeded (status), running (unfinished), already_retried (has a retry), chained
    # (its upstream intake_failed is retried, which starts it again).
    assert answer.json() == {
        "dry_run": True,
        "count": 4,
        "jobs": {"core/after-success": 2, "core/intake": 1, "core/switched-off": 1},
        "retried": [],
        "skipped": [],
    }
    assert dag_runs(registry) == []


def test_retry_creates_one_manual_dag_run_per_retried_run(admin, registry, retryable):
    answer = admin.post(f"{API}/runs/retry", json={"status": ["failed", "crashed"]})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    retried = {r["run_id"]: r for r in result["retried"]}
    assert sorted(retried) == sorted([retryable["failed"], retryable["intake_failed"]])
    skipped = {s["run_id"]: s["reason"] for s in result["skipped"]}
    assert "switched off" in skipped[retryable["switched_off"]]
    assert "never started" in skipped[retryable["never_started"]]

    created_runs = dag_runs(registry)
    assert len(created_runs) == 2
    for dag_run in created_runs:
        [(run_id, wanted)] = [
            (r, w) for r, w in retried.items() if w["dag_run_id"] == dag_run["run_id"]
        ]
        assert dag_run["dag_id"] == wanted["dag_id"]
        assert dag_run["conf"] == {"retry_of": run_id}
        assert dag_run["run_type"] == "manual" and dag_run["state"] == "queued"
        assert dag_run["triggering_user_name"] == "admin"

    # Airflow's audit log says who did it, as for its own REST API.
    audit = registry.execute(
        "SELECT owner, extra FROM log WHERE event = 'openfn.retry_runs' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert audit["owner"] == "admin" and "failed" in audit["extra"]

    # Repeating the request retries nothing twice: the first retries wait in Airflow.
    again = admin.post(f"{API}/runs/retry", json={"status": ["failed", "crashed"]}).json()
    assert {r["run_id"] for r in again["retried"]} == set()
    assert len(dag_runs(registry)) == 2


def test_the_retry_dag_run_records_a_new_ledger_run_on_the_old_initial_state(
    registry, core_dags_in_airflow
):
    old = run(
        registry,
        status="failed",
        trigger="manual",
        initial_state={"data": {"name": "Ada"}, "references": []},
    )
    registry.commit()
    dag = core_dags_in_airflow["openfn__core__after-success"]
    dag.test(run_conf={"retry_of": old})

    registry.rollback()
    [new] = [r for r in runs.list_runs(registry, job="after-success") if r["retry_of"] == old]
    row = runs.get_run(registry, new["id"])
    assert row["status"] == "success" and row["trigger"] == "manual"
    assert row["initial_state"] == {"data": {"name": "Ada"}, "references": []}
    assert row["final_state"]["echoed"] is True


def test_a_retry_of_another_jobs_run_does_not_start(registry, core_dags_in_airflow):
    other = run(registry, job="intake", status="failed", initial_state={"data": {}})
    registry.commit()
    core_dags_in_airflow["openfn__core__after-success"].test(run_conf={"retry_of": other})
    registry.rollback()
    [row] = runs.list_runs(registry, job="after-success")
    assert row["exit_code"] == 3 and row["retry_of"] is None


def test_retry_refuses_more_than_it_may_start_at_once(
    admin, registry, no_retry_dag_runs, monkeypatch
):
    from openfn_airflow.plugin.routers import runs as runs_router

    monkeypatch.setattr(runs_router, "MAX_RETRY", 2)
    for _ in range(3):
        run(registry, status="failed")
    registry.commit()
    answer = admin.post(f"{API}/runs/retry", json={"status": ["failed"]})
    assert answer.status_code == 400 and "narrow" in answer.json()["detail"]
    assert dag_runs(registry) == []
