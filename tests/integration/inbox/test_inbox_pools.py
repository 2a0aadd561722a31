"""A project's concurrency: its jobs' run tasks share one Airflow pool, sized from the spec."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SPEC = """
project: {name}
{concurrency}
triggers:
  form: {{criteria: {{formID: x}}}}
jobs:
  a: {{file: jobs/a.py, trigger: form}}
  b: {{file: jobs/a.py, trigger: form}}
"""


def write(folder: Path, name: str, concurrency: str) -> Path:
    root = folder / name
    (root / "jobs").mkdir(parents=True, exist_ok=True)
    (root / "jobs" / "a.py").write_text("from openfn_airflow.runtime import fn\noperations = []\n")
    spec = root / "project.yaml"
    spec.write_text(textwrap.dedent(SPEC.format(name=name, concurrency=concurrency)))
    return spec


def pool_slots(name: str) -> int | None:
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        pool = session.scalar(select(Pool).where(Pool.pool == name))
        return pool.slots if pool is not None else None


def test_the_dispatchers_sync_creates_and_resizes_each_projects_pool(tmp_path, clean_db):
    from openfn_airflow.inbox.pools import PoolSync

    write(tmp_path, "capped", "concurrency: 3")
    write(tmp_path, "free", "")
    pools = PoolSync()
    assert pools.sync([tmp_path]) is True
    assert pool_slots("openfn__capped") == 3
    assert pool_slots("openfn__free") is None
    assert pools.sync([tmp_path]) is False  # no spec changed: nothing read, nothing written

    write(tmp_path, "capped", "concurrency: 5")
    assert pools.sync([tmp_path]) is True
    assert pool_slots("openfn__capped") == 5


def test_every_job_of_a_capped_project_runs_in_its_pool(tmp_path):
    from openfn_airflow.dags.loader import load_dags

    write(tmp_path, "capped", "concurrency: 3")
    write(tmp_path, "free", "")
    dags = load_dags(tmp_path)
    assert {dags[f"openfn__capped__{j}"].get_task("run").pool for j in "ab"} == {"openfn__capped"}
    assert dags["openfn__free__a"].get_task("run").pool == "default_pool"
