"""Fixtures of the job task's protocol tests (helpers: ``task_helpers.py``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from openfn_airflow.store.database import connect_patiently


@pytest.fixture
def connect(db_url: str) -> Callable[[], Any]:
    """Opens a ledger connection as the operator does, waiting a little for the database."""
    return partial(connect_patiently, db_url, wait=5.0)
