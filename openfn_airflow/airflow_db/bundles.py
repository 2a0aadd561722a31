"""Make the dag-processor refresh a bundle now, not after its ``refresh_interval``.

Airflow's dag-processor claims ``dag_priority_parsing_request`` rows at the start of every loop
(about once a second), queues their files first, and marks their bundles for a forced refresh
(``DagFileProcessorManager._queue_requested_files_for_parsing`` -> ``request_bundle_refresh``);
the refresh runs in the same loop before the files are parsed, so they are parsed at the new
version and the DAGs' ``bundle_version`` moves with it. That is what Airflow's own "Reparse DAG
file" button writes. One row per DAG file the bundle is known to hold (its DAGs and its import
errors); a bundle with no known file yet gets its ``last_refreshed`` cleared instead, which makes
the next bundle check (``[dag_processor] bundle_refresh_check_interval``, 5 s) refresh it.

``bundle_versions``: the commit each bundle was last parsed at (``dag_bundle``).
"""

from __future__ import annotations

from typing import Any


def bundle_files(session: Any, bundle_name: str) -> list[str]:
    """The bundle's DAG files Airflow knows: those with live DAGs and those with import errors."""
    from airflow.models.dag import DagModel
    from airflow.models.errors import ParseImportError
    from sqlalchemy import select

    files = set(
        session.scalars(
            select(DagModel.relative_fileloc).where(
                DagModel.bundle_name == bundle_name,
                DagModel.is_stale.is_(False),
                DagModel.relative_fileloc.is_not(None),
            )
        )
    )
    files.update(
        session.scalars(
            select(ParseImportError.filename).where(
                ParseImportError.bundle_name == bundle_name,
                ParseImportError.filename.is_not(None),
            )
        )
    )
    return sorted(files)


def request_refresh(session: Any, bundle_name: str) -> list[str]:
    """Ask for the bundle's refresh and the reparse of its DAG files; return those files.

    Repeated requests for a file not yet claimed are one request. The caller commits.
    """
    from airflow.models.dagbag import DagPriorityParsingRequest
    from airflow.models.dagbundle import DagBundleModel
    from sqlalchemy import update
    from sqlalchemy.dialects.postgresql import insert

    files = bundle_files(session, bundle_name)
    for relative_fileloc in files:
        session.execute(
            insert(DagPriorityParsingRequest)
            .values(bundle_name=bundle_name, relative_fileloc=relative_fileloc)
            .on_conflict_do_nothing()
        )
    if not files:
        session.execute(
            update(DagBundleModel)
            .where(DagBundleModel.name == bundle_name)
            .values(last_refreshed=None)
        )
    return files


def bundle_versions(names: list[str]) -> dict[str, str | None]:
    """The version each of these bundles' DAGs were last parsed at (bundles Airflow has)."""
    from airflow.models.dagbundle import DagBundleModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(DagBundleModel.name, DagBundleModel.version).where(
                DagBundleModel.name.in_(names)
            )
        ).all()
    return {name: version for name, version in rows}
