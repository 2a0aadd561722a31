"""The schema of the openfn_* tables: the canonical DDL, and migrations that reach it.

``migrate()`` is what ``openfn-airflow db migrate`` runs; ``airflow db migrate`` reaches the same
migrations through ``OpenFnDBManager``. Both take one advisory lock (in ``migrations/env.py``), so
concurrent migrators wait for each other and the later one finds nothing to do.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from openfn_airflow.store.database import database_url, to_conninfo, wrap_exceptions
from openfn_airflow.store.queries import fetch_one, parse_blocks

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
ALEMBIC_INI = MIGRATIONS_DIR / "alembic.ini"
VERSION_TABLE = "openfn_alembic_version"
TABLES = (
    "openfn_project",
    "openfn_message",
    "openfn_message_version",
    "openfn_attachment",
    "openfn_run",
    "openfn_trigger",
    "openfn_job",
    "openfn_dispatch",
    "openfn_auth_method",
    "openfn_auth_failure",
)
# pg_advisory_xact_lock key held while migrating ("openfn" in ASCII); Airflow's own keys are small.
MIGRATION_LOCK_ID = 0x6F70656E666E


def schema_sql() -> str:
    """Return the canonical DDL (``sql/schema.sql``) of the current schema."""
    resource = importlib.resources.files("openfn_airflow.store") / "sql" / "schema.sql"
    return resource.read_text(encoding="utf-8")


def migration_sql(migration: str, block: str) -> str:
    """Return one block (``upgrade`` / ``downgrade``) of ``migrations/<migration>.sql``."""
    text = (MIGRATIONS_DIR / f"{migration}.sql").read_text(encoding="utf-8")
    return parse_blocks(text, f"migrations/{migration}.sql")[block]


def alembic_config(sqlalchemy_url: str | None = None) -> Config:
    """Return the alembic configuration of our migrations (``alembic.ini`` beside them)."""
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if sqlalchemy_url:
        config.set_main_option("sqlalchemy.url", sqlalchemy_url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """Return the revision the newest migration leaves the database at."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "store/migrations/versions holds no migration"
    return head


def current_revision(conn: psycopg.Connection) -> str | None:
    """Return the revision the database is at, or None when our migrations never ran there."""
    present = fetch_one(conn, "find_version_table")
    if not present or not present["present"]:
        return None
    row = fetch_one(conn, "get_schema_revision")
    return row["version_num"] if row else None


def migrate(url: str | None = None, revision: str = "heads") -> None:
    """Apply our migrations (only ours, not Airflow's) up to ``revision``; a no-op when up to date.

    ``url`` is a PostgreSQL URL or conninfo; default: ``database_url()``. Runs in one transaction.
    Raises DatabaseUnavailable when the database cannot be reached, StoreError when a migration fails.
    """
    from alembic import command
    from sqlalchemy import create_engine, pool

    conninfo = to_conninfo(url, option="the database URL") if url else database_url()
    # Through psycopg 3 whatever the URL's form (URL or keyword conninfo), like the rest of the store.
    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(conninfo),
        poolclass=pool.NullPool,
    )
    try:
        with wrap_exceptions(), engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
