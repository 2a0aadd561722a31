"""Airflow's pools (``slot_pool``): the projects' pools created and sized (see ``inbox.pools``)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def apply_pools(wanted: dict[str, int]) -> None:
    """Create the pools in ``wanted`` that are missing and give each its number of slots."""
    if not wanted:
        return
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        for name, slots in sorted(wanted.items()):
            current = session.scalar(select(Pool).where(Pool.pool == name))
            if current is not None and current.slots == slots:
                continue
            Pool.create_or_update_pool(
                name=name,
                slots=slots,
                description=f"OpenFn project {name.removeprefix('openfn__')}: concurrency {slots}"
                " (from its project.yaml)",
                include_deferred=False,
                session=session,
            )
            log.info("Pool %s has %d slot(s), as its project's concurrency says", name, slots)
