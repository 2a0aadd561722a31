"""Jobs from git, end to end: real api-server, scheduler and dag-processor on a git bundle.

The project lives only in a local bare git repository, served by an ``OpenFnGitDagBundle``
whose ``refresh_interval`` is an hour, so every change of code the runs show was brought by the
signed push webhook. Runs are started through Airflow's REST API; the ledger says which code
(the job's final state) and which commit (``bundle_version``) each ran.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cluster import Cluster, count_dags, wait_for
from cryptography.fernet import Fernet
from git_helpers import (
    DAG_FILE,
    DAG_ID,
    INBOX_ID,
    PROJECT,
    ProjectRepo,
    bundle_config,
    delivery,
    git_connection,
    push_event,
    webhook_connection,
)
from psycopg.rows import dict_row

pytestmark = [pytest.mark.integration, pytest.mark.scheduler]

BUNDLE = "openfn-projects"
REFRESH_INTERVAL = 3600
# How long the webhook may take to bring a new commit to the DAG: far below the refresh interval.
DEPLOY_WITHIN = 60


def query(db_url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def dag_bundle_version(db_url: str) -> str | None:
    rows = query(db_url, "SELECT bundle_version FROM dag WHERE dag_id = %s", DAG_ID)
    return rows[0]["bundle_version"] if rows else None


def run_job(cluster: Cluster, db_url: str) -> dict[str, Any]:
    """Start a DAG run through the REST API; return its ledger run once finished."""
    answer = cluster.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
    assert answer.status_code == 200, answer.text
    dag_run_id = answer.json()["dag_run_id"]

    def finished() -> dict[str, Any] | None:
        rows = query(
            db_url,
            "SELECT r.status, r.final_state, r.bundle_version, d.bundle_version AS dag_run_version"
            " FROM openfn_run r JOIN dag_run d"
            "   ON d.dag_id = r.dag_id AND d.run_id = r.dag_run_id"
            " WHERE r.dag_id = %s AND r.dag_run_id = %s AND r.status <> 'running'",
            DAG_ID,
            dag_run_id,
        )
        return rows[0] if rows else None

    return wait_for(finished, 120, f"the ledger run of {dag_run_id}", cluster)


def send_push(cluster: Cluster, after: str, before: str) -> httpx.Response:
    body, headers = delivery("push", push_event(after, before=before), delivery_id=after[:12])
    return httpx.post(f"{cluster.url}/openfn/github/webhook", content=body, headers=headers)


def deployed_within(cluster: Cluster, db_url: str, commit: str) -> float:
    """Seconds until the DAG is parsed at ``commit`` (what the next DAG run will record)."""
    started = time.monotonic()
    wait_for(
        lambda: dag_bundle_version(db_url) == commit,
        DEPLOY_WITHIN,
        f"the DAG to be parsed at {commit}",
        cluster,
    )
    return time.monotonic() - started


def test_push_webhook_deploys_new_commits_and_redeploys_older_ones(
    tmp_path: Path, template_clone: Any
) -> None:
    db_url = template_clone()  # a database of its own: no other test's DAGs or runs
    repo = ProjectRepo(tmp_path / "repo")
    first = repo.commit_project("one")
    empty_dags_folder = tmp_path / "dags"
    empty_dags_folder.mkdir()
    cluster = Cluster(
        tmp_path / "airflow-home",
        db_url.replace("postgresql://", "postgresql+psycopg2://", 1),
        empty_dags_folder,
        AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST=bundle_config(
            BUNDLE, conn_id="openfn_git", refresh_interval=REFRESH_INTERVAL
        ),
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=str(REFRESH_INTERVAL),
        AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH=str(tmp_path / "bundles"),
        # One key for every process: each would otherwise race to generate airflow.cfg's, and
        # the dag-processor could not read the deployment Variable the api-server encrypted.
        AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
        AIRFLOW_CONN_OPENFN_GIT=git_connection(repo),
        AIRFLOW_CONN_OPENFN_GITHUB_WEBHOOK=webhook_connection(),
    ).start()
    try:
        wait_for(
            lambda: count_dags(db_url, f"openfn__{PROJECT}__") == 1,
            180,
            "the project's DAG from the git bundle",
            cluster,
        )

        # 1. The first commit's job runs, and its run records that commit.
        run = run_job(cluster, db_url)
        assert run["status"] == "success"
        assert run["final_state"]["version"] == "one"
        assert run["bundle_version"] == run["dag_run_version"] == first

        # 1b. The project's inbox is served from the bundle too: a matching message runs the job.
        inbox = f"{cluster.url}/openfn/inbox/{INBOX_ID}"
        wait_for(
            lambda: httpx.get(inbox).status_code == 200, 60, "the git project's inbox", cluster
        )
        answer = httpx.post(inbox, json={"kind": "report", "week": 48})
        assert answer.status_code == 202, answer.text
        assert answer.json()["matched"] == ["reports"]
        message_run = wait_for(
            lambda: query(
                db_url,
                "SELECT status, final_state, bundle_version FROM openfn_run"
                " WHERE message_id = %s AND status <> 'running'",
                answer.json()["message_id"],
            ),
            120,
            "the message's run",
            cluster,
        )[0]
        assert message_run["status"] == "success"
        assert message_run["final_state"]["data"] == {"kind": "report", "week": 48}
        assert message_run["bundle_version"] == first

        # 2. A new commit is pushed; nothing changes until its push event arrives.
        second = repo.commit_project("two")
        time.sleep(6)  # longer than min_file_process_interval: the file was parsed again
        assert dag_bundle_version(db_url) == first
        answer = send_push(cluster, second, before=first)
        assert answer.status_code == 202, answer.text
        [bundle] = answer.json()["bundles"]
        assert (bundle["bundle"], bundle["deploys"], bundle["reparse"]) == (
            BUNDLE,
            second,
            [DAG_FILE],
        )
        took = deployed_within(cluster, db_url, second)
        run = run_job(cluster, db_url)
        assert run["status"] == "success"
        assert run["final_state"]["version"] == "two"
        assert run["bundle_version"] == run["dag_run_version"] == second

        # 3. Re-sending the first commit's push event redeploys the first commit.
        answer = send_push(cluster, first, before="0" * 40)
        assert answer.status_code == 202, answer.text
        assert answer.json()["bundles"][0]["deploys"] == first
        took_back = deployed_within(cluster, db_url, first)
        run = run_job(cluster, db_url)
        assert run["status"] == "success"
        assert run["final_state"]["version"] == "one"
        assert run["bundle_version"] == run["dag_run_version"] == first

        # 4. A commit that is not on the branch is refused and changes nothing.
        refused = send_push(cluster, "f" * 40, before=first)
        assert refused.status_code == 422, refused.text
        assert dag_bundle_version(db_url) == first
        print(f"\ndeployed by the webhook in {took:.1f}s, redeployed in {took_back:.1f}s")
    finally:
        cluster.stop()
