"""Airflow's variable table, read as stored (the bundles' deployments: see ``bundles.deployments``)."""

from __future__ import annotations

import contextlib
from typing import Any


def read_variable(key: str, session: Any = None) -> tuple[str | None, bool] | None:
    """The variable's value and whether it is stored encrypted, or None when there is none.

    From the database only (``Variable.get`` asks the secrets backends first). The value is
    decrypted by Airflow's model; it is None when this process cannot decrypt it (no or another
    ``[core] fernet_key``), which the caller tells apart by the flag.
    """
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    ctx = contextlib.nullcontext(session) if session is not None else create_session()
    with ctx as active:
        variable = active.scalar(select(Variable).where(Variable.key == key))
        if variable is None:
            return None
        return variable.val, bool(variable.is_encrypted)
