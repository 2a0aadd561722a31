"""Typed dependencies of the plugin's routes: a database connection and the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends

from openfn_airflow.store.database import connect


def get_conn() -> Iterator[psycopg.Connection[Any]]:
    """Open a connection for one request; what the route did not commit is rolled back."""
    conn = connect()
    try:
        yield conn
    finally:
        conn.close()


ConnDep = Annotated[psycopg.Connection[Any], Depends(get_conn)]
# Airflow's own authentication: a Bearer JWT, or the UI's _token cookie.
UserDep = Annotated[BaseUser, Depends(get_user)]
