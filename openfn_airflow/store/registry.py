"""The registry of each project's message-filter triggers and jobs (``openfn_trigger``, ``openfn_job``).

``inbox/registry.py`` fills it from the specs; the inbox matches messages against it in SQL.
Every function takes a psycopg connection first; the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from openfn_airflow.store.queries import execute, fetch_all, fetch_one

# pg_advisory_xact_lock key held while syncing ("openfr" in ASCII).
REGISTRY_LOCK_ID = 0x6F70656E6672


def lock(conn: psycopg.Connection[Any]) -> None:
    """Wait for other syncs; the lock is held until the caller's transaction ends."""
    execute(conn, "lock_registry", key=REGISTRY_LOCK_ID)


def spec_hashes(conn: psycopg.Connection[Any]) -> dict[str, str | None]:
    """Return every project's name and the hash of the spec it was last synced from."""
    return {row["name"]: row["spec_hash"] for row in fetch_all(conn, "get_spec_hashes")}


def sync_project(
    conn: psycopg.Connection[Any], name: str, *, inbox_id: uuid.UUID | None, spec_hash: str
) -> str:
    """Record a project synced from a spec with ``spec_hash``; return its inbox id."""
    row = fetch_one(
        conn,
        "sync_project",
        name=name,
        inbox_id=inbox_id,
        generated_inbox_id=uuid.uuid4(),
        spec_hash=spec_hash,
    )
    assert row is not None
    return str(row["inbox_id"])


def replace_triggers(
    conn: psycopg.Connection[Any], project: str, triggers: Sequence[dict[str, Any]]
) -> None:
    """Make the project's triggers exactly ``triggers`` (``name``, ``criteria``, ``exclude``)."""
    execute(conn, "delete_triggers_except", project=project, names=[t["name"] for t in triggers])
    execute(conn, "upsert_triggers", project=project, triggers=Jsonb(list(triggers)))


def replace_jobs(
    conn: psycopg.Connection[Any], project: str, jobs: Sequence[dict[str, Any]]
) -> None:
    """Make the project's jobs exactly ``jobs`` (the columns of ``openfn_job`` but project)."""
    execute(conn, "delete_jobs_except", project=project, names=[j["name"] for j in jobs])
    execute(conn, "upsert_jobs", project=project, jobs=Jsonb(list(jobs)))


def apply_spec_enabled(
    conn: psycopg.Connection[Any], project: str, jobs: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Switch the DAGs of ``jobs`` (``name``, ``dag_id``, ``enabled``, ``added``) as their spec's
    ``enabled`` now says; return the jobs the spec decided (``name``, ``enabled``)."""
    if not jobs:
        return []
    return fetch_all(conn, "apply_spec_enabled", project=project, jobs=Jsonb(list(jobs)))


def retire_archived_dags(conn: psycopg.Connection[Any], dag_ids: Sequence[str]) -> list[str]:
    """Mark the DAGs of archived jobs stale in Airflow's ``dag`` table; return those it marked."""
    if not dag_ids:
        return []
    rows = fetch_all(conn, "retire_archived_dags", dag_ids=list(dag_ids))
    return [row["dag_id"] for row in rows]


def switch_changes(conn: psycopg.Connection[Any], dag_ids: Sequence[str]) -> dict[str, Any]:
    """Return each DAG's latest pause or unpause through Airflow's REST API, from its audit log
    (``dttm``, ``owner``, ``owner_display_name``, ``extra``), by DAG id."""
    if not dag_ids:
        return {}
    rows = fetch_all(conn, "list_switch_changes", dag_ids=list(dag_ids))
    return {row["dag_id"]: row for row in rows}


def forget_projects_except(conn: psycopg.Connection[Any], names: Sequence[str]) -> list[str]:
    """Empty the registry of synced projects not in ``names`` (their spec is gone); return them."""
    return [row["name"] for row in fetch_all(conn, "forget_projects_except", names=list(names))]


def list_triggers(conn: psycopg.Connection[Any], project: str) -> list[dict[str, Any]]:
    """Return the project's message-filter triggers by name."""
    return fetch_all(conn, "list_triggers", project=project)


def list_jobs(conn: psycopg.Connection[Any], project: str) -> list[dict[str, Any]]:
    """Return the project's jobs by name."""
    return fetch_all(conn, "list_jobs", project=project)


def list_all_jobs(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Return every job of every project (``project``, ``name``, ``dag_id``, ``trigger``)."""
    return fetch_all(conn, "list_all_jobs")


def listening_dags(conn: psycopg.Connection[Any], targets: Sequence[tuple[str, str]]) -> list[str]:
    """Return the DAGs that delivering to these (project, trigger) pairs would start."""
    if not targets:
        return []
    pairs = [{"project": project, "trigger": trigger} for project, trigger in set(targets)]
    return [row["dag_id"] for row in fetch_all(conn, "list_listening_dags", targets=Jsonb(pairs))]


def body_trigger_dags(
    conn: psycopg.Connection[Any], project: str, bodies: Sequence[Any]
) -> list[str]:
    """Return the DAGs of the project's jobs whose message-filter trigger matches a body."""
    rows = fetch_all(conn, "list_body_trigger_dags", project=project, bodies=Jsonb(list(bodies)))
    return [row["dag_id"] for row in rows]


def message_jobs(
    conn: psycopg.Connection[Any], message_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """Return, per message id, the jobs whose trigger matches its body now (any switch).

    Each job: ``job``, ``dag_id``, ``trigger``, ``autoprocess``, ``paused``.
    """
    found: dict[int, list[dict[str, Any]]] = {message_id: [] for message_id in message_ids}
    if not message_ids:
        return found
    for row in fetch_all(conn, "list_message_jobs", message_ids=list(message_ids)):
        found[row.pop("message_id")].append(row)
    return found
