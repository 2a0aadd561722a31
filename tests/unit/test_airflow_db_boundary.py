"""Airflow's own tables are read and written in ``openfn_airflow/airflow_db`` only.

An Airflow upgrade that changes its tables then has one package to check (and its contract
tests to fail). The table names are Airflow's own, from its models' metadata, so a table a new
Airflow adds is covered too.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

import openfn_airflow

PACKAGE = Path(openfn_airflow.__file__).parent
AIRFLOW_DB = PACKAGE / "airflow_db"
# Our own schema's migrations: 0006 adds an index to asset_partition_dag_run (DDL, not a read
# or a write of its rows; a migration cannot move once applied).
MIGRATIONS = PACKAGE / "store" / "migrations"

# A table named where SQL reads or writes one. Keywords in capitals, as this project writes SQL,
# so prose ("read from dag_run") is not taken for a statement.
_SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO|TABLE)\s+(?:ONLY\s+)?\"?([a-z_][a-z0-9_]*)\b")
# SQLAlchemy statements on Airflow's models; this project's own tables are queried with psycopg.
_QUERY_BUILDERS = {"select", "insert", "update", "delete"}


@functools.cache
def airflow_tables() -> frozenset[str]:
    from airflow.models import import_all_models
    from airflow.models.base import Base

    import_all_models()
    return frozenset(Base.metadata.tables)


def tables_named(sql: str) -> set[str]:
    """The Airflow tables this SQL text reads or writes (comments left out)."""
    code = re.sub(r"--[^\n]*", "", sql)
    return {name for name in _SQL_TABLE.findall(code) if name in airflow_tables()}


def _outside(paths: list[Path]) -> list[Path]:
    return [
        path for path in paths if AIRFLOW_DB not in path.parents and MIGRATIONS not in path.parents
    ]


def _python_problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            names = [alias.name for alias in node.names]
            if module.startswith(("airflow._shared", "airflow.assets.manager")):
                problems.append(f"line {node.lineno}: imports {module}")
            elif module.startswith("airflow") and any(n.startswith("_") for n in names):
                problems.append(f"line {node.lineno}: imports a private name of {module}")
            elif module.startswith("sqlalchemy") and _QUERY_BUILDERS & set(names):
                problems.append(f"line {node.lineno}: builds SQLAlchemy statements")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for table in sorted(tables_named(node.value)):
                problems.append(f"line {node.lineno}: SQL on Airflow's {table}")
    return problems


def test_airflows_tables_are_known():
    tables = airflow_tables()
    assert {"dag", "dag_run", "task_instance", "asset_event", "asset_partition_dag_run"} <= tables
    assert not any(name.startswith("openfn_") for name in tables)


def test_the_scan_finds_sql_on_airflows_tables():
    assert tables_named("SELECT r.id FROM openfn_run AS r JOIN dag_run AS d ON true") == {"dag_run"}
    assert tables_named("UPDATE dag AS d SET is_paused = true") == {"dag"}
    assert tables_named("DELETE FROM asset_event WHERE id = 1") == {"asset_event"}
    assert tables_named("-- read FROM dag_run\nSELECT 1 FROM openfn_job") == set()
    assert tables_named("rows taken from dag_run by the scheduler") == set()


def test_every_sql_block_on_airflows_tables_is_in_airflow_db():
    files = sorted(PACKAGE.rglob("*.sql"))
    assert any(AIRFLOW_DB in path.parents for path in files)
    found = {
        str(path.relative_to(PACKAGE)): sorted(tables_named(path.read_text(encoding="utf-8")))
        for path in _outside(files)
    }
    assert {path: tables for path, tables in found.items() if tables} == {}


def test_airflow_dbs_sql_does_name_airflows_tables():
    """The scan reads the real files: the blocks moved to airflow_db/sql are found there."""
    named = set()
    for path in (AIRFLOW_DB / "sql").glob("*.sql"):
        named |= tables_named(path.read_text(encoding="utf-8"))
    assert {"dag", "dag_run", "asset_event", "asset_partition_dag_run", "log"} <= named


@pytest.mark.parametrize(
    "path",
    _outside(sorted(PACKAGE.rglob("*.py"))),
    ids=lambda path: str(path.relative_to(PACKAGE)),
)
def test_no_module_outside_airflow_db_touches_airflows_tables(path: Path):
    assert _python_problems(path) == []


def test_the_module_scan_finds_what_airflow_db_does():
    problems = _python_problems(AIRFLOW_DB / "assets.py")
    assert any(
        "private name of airflow.assets.manager" in p or "airflow._shared" in p for p in problems
    )
    assert any("SQLAlchemy" in p for p in _python_problems(AIRFLOW_DB / "dag_runs.py"))
