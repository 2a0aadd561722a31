"""An archived job gets no DAG and no message while the jobs beside it get theirs; restored, it
gets both back under the same DAG id. Real PostgreSQL, Airflow's own tables (DAGs parsed and
written as the dag-processor does), the registry sync and the dispatcher."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from factories import serialize_dags
from inbox_helpers import airflow_dags, autocommit, registry
from inbox_helpers import post as post_to

from openfn_airflow.inbox.dispatcher import Dispatcher
from openfn_airflow.inbox.registry import sync_projects
from openfn_airflow.store import runs

__all__ = ["airflow_dags", "autocommit", "registry"]

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_dags", "registry")]

REPO = Path(__file__).resolve().parents[3]
INBOX_ID = "0b7a4f7e-3c1d-4d7e-9a43-2f5e8d1c6a10"
SPEC = f"""
    project: shelf
    inbox: {{id: {INBOX_ID}}}
    triggers:
      forms: {{criteria: {{form: shelf}}}}
      old-only: {{criteria: {{form: old-only}}}}
      old-failed: {{failure: old}}
    jobs:
      live: {{file: jobs/echo.py, trigger: forms}}
      old: {{file: jobs/echo.py, trigger: forms}}
      lonely: {{file: jobs/echo.py, trigger: old-only}}
      nightly: {{file: jobs/echo.py, trigger: {{cron: "0 3 * * *"}}}}
      alert: {{file: jobs/echo.py, trigger: old-failed}}
"""
ARCHIVED = ("old", "lonely", "nightly")


def dag(job: str) -> str:
    return f"openfn__shelf__{job}"


def _forget_shelf_events(conn: Any) -> None:
    conn.execute(
        "DELETE FROM asset_partition_dag_run WHERE target_dag_id LIKE 'openfn\\_\\_shelf%%'"
    )
    conn.execute("DELETE FROM asset_dag_run_queue WHERE target_dag_id LIKE 'openfn\\_\\_shelf%%'")
    conn.execute(
        "DELETE FROM asset_event WHERE asset_id IN "
        "(SELECT id FROM asset WHERE uri LIKE 'openfn://shelf/%%')"
    )


@pytest.fixture
def folder(tmp_path: Path, autocommit: Any) -> Iterator[Path]:
    """A DAGs folder with project shelf, every job live, its DAGs in Airflow's tables."""
    root = tmp_path / "dags"
    (root / "shelf" / "jobs").mkdir(parents=True)
    (root / "shelf" / "jobs" / "echo.py").write_text("operations = []\n")
    (root / "shelf" / "project.yaml").write_text(textwrap.dedent(SPEC))
    shutil.copy(REPO / "dags" / "openfn_jobs.py", root)
    _forget_shelf_events(autocommit)
    parse(root)
    sync(autocommit, root)
    yield root
    _forget_shelf_events(autocommit)


def parse(root: Path) -> dict[str, Any]:
    """What the dag-processor does with the folder: parse it, write its DAGs; return them by id
    (in id order)."""
    return dict(sorted(serialize_dags(root, "openfn_jobs.py").items()))


def sync(conn: Any, root: Path) -> None:
    sync_projects(conn, root, prune=False)


def set_archived(root: Path, archived: bool) -> None:
    spec = root / "shelf" / "project.yaml"
    text = spec.read_text()
    for job in ARCHIVED:
        line = next(line for line in text.splitlines() if line.startswith(f"  {job}: "))
        changed = (
            line[:-1] + ", archived: true}" if archived else line.replace(", archived: true", "")
        )
        text = text.replace(line, changed)
    spec.write_text(text)


def post(conn: Any, body: dict) -> dict:
    return post_to(conn, body, INBOX_ID)


def delivered(conn: Any, message_id: int) -> list[str]:
    """The DAGs a message was delivered to: the pending runs its asset events made.

    Only events from the message's arrival on: message ids start at 1 again whenever a test
    empties the openfn tables, and Airflow's tables still hold the events of earlier tests'
    messages with the same ids (delivered to other projects' DAGs).
    """
    Dispatcher(sync_registry=False).dispatch_pending()
    rows = conn.execute(
        "SELECT DISTINCT k.target_dag_id FROM partitioned_asset_key_log AS k "
        "JOIN asset_event AS e ON e.id = k.asset_event_id "
        "WHERE e.extra::jsonb -> 'message_ids' = %s::jsonb "
        "AND e.timestamp >= (SELECT received_at FROM openfn_message WHERE id = %s) ORDER BY 1",
        [json.dumps([message_id]), message_id],
    ).fetchall()
    return [row["target_dag_id"] for row in rows]


def is_stale(conn: Any, job: str) -> bool:
    return conn.execute("SELECT is_stale FROM dag WHERE dag_id = %s", [dag(job)]).fetchone()[
        "is_stale"
    ]


def test_archived_jobs_get_nothing_their_siblings_do_and_restored_they_get_it_again(
    autocommit, folder
):
    every = [dag(job) for job in ("alert", "live", "lonely", "nightly", "old")]
    assert list(parse(folder)) == every
    first = post(autocommit, {"form": "shelf", "n": 1})
    assert first["matched"] == ["forms"]
    assert delivered(autocommit, first["message_id"]) == [dag("live"), dag("old")]

    set_archived(folder, True)
    # No DAG: the DAG file no longer makes them; the job on old's failure stays.
    dags = parse(folder)
    assert list(dags) == [dag("alert"), dag("live")]
    assert "`old` is archived, so that never happens: run by hand only" in dags[dag("alert")].doc_md
    assert DagBag(str(folder / "openfn_jobs.py"), bundle_path=folder).import_errors == {}
    sync(autocommit, folder)
    # Airflow would mark their DAGs stale a parse and 50 s later; the sync does it at once, so
    # the scheduler starts none of them (nightly's cron).
    assert all(is_stale(autocommit, job) for job in ARCHIVED)
    assert not is_stale(autocommit, "live") and not is_stale(autocommit, "alert")

    second = post(autocommit, {"form": "shelf", "n": 2})
    assert second["matched"] == ["forms"]
    assert delivered(autocommit, second["message_id"]) == [dag("live")]
    # A message only an archived job listened to is stored, matches nothing, starts nothing.
    alone = post(autocommit, {"form": "old-only"})
    assert alone["matched"] == []
    assert delivered(autocommit, alone["message_id"]) == []
    stored = autocommit.execute(
        "SELECT count(*) AS n FROM openfn_dispatch WHERE message_id = %s", [alone["message_id"]]
    ).fetchone()
    assert stored["n"] == 0
    assert runs.list_runs(autocommit, project="shelf", job="lonely", limit=10) == []

    # Even while Airflow still runs old's DAG (a parse begun before the spec changed wrote it
    # back), the dispatcher delivers only to the registry's jobs.
    autocommit.execute("UPDATE dag SET is_stale = false WHERE dag_id = %s", [dag("old")])
    third = post(autocommit, {"form": "shelf", "n": 3})
    assert delivered(autocommit, third["message_id"]) == [dag("live")]

    set_archived(folder, False)  # restored: the same DAG ids again, delivered to again
    assert list(parse(folder)) == every
    sync(autocommit, folder)
    assert not any(is_stale(autocommit, job) for job in ARCHIVED)
    fourth = post(autocommit, {"form": "shelf", "n": 4})
    assert delivered(autocommit, fourth["message_id"]) == [dag("live"), dag("old")]
    again = post(autocommit, {"form": "old-only"})
    assert again["matched"] == ["old-only"]
    assert delivered(autocommit, again["message_id"]) == [dag("lonely")]


def test_an_archived_job_busy_in_airflow_is_left_for_airflow_to_retire(autocommit, folder):
    """A stale DAG's running DAG run is never looked at again by the scheduler: a job archived
    while it runs keeps its DAG active until Airflow retires it, after that run."""
    autocommit.execute(
        "INSERT INTO dag_run (dag_id, run_id, state, run_type, run_after, clear_number, "
        "log_template_id, span_status, created_dag_version_id) "
        "SELECT %s, 'manual__busy', 'running', 'manual', now(), 0, "
        "(SELECT max(id) FROM log_template), 'not_started', "
        "(SELECT id FROM dag_version WHERE dag_id = %s ORDER BY version_number DESC LIMIT 1)",
        [dag("old"), dag("old")],
    )
    try:
        set_archived(folder, True)
        sync(autocommit, folder)

        assert not is_stale(autocommit, "old")
        assert is_stale(autocommit, "lonely") and is_stale(autocommit, "nightly")
        message = post(autocommit, {"form": "shelf"})
        assert delivered(autocommit, message["message_id"]) == [dag("live")]
    finally:
        autocommit.execute("DELETE FROM dag_run WHERE run_id = 'manual__busy'")
