"""The migrations build exactly the canonical schema (sql/schema.sql), and can be undone."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from openfn_airflow.store import schema

pytestmark = pytest.mark.integration

# Everything about the openfn_* tables a migration could get wrong, as comparable rows.
_CATALOG = {
    "tables": """
        SELECT c.relname, c.relkind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname LIKE 'openfn\\_%'
          AND c.relname NOT LIKE 'openfn\\_alembic\\_version%'
        ORDER BY 1
    """,
    "columns": """
        SELECT table_name, column_name, ordinal_position, data_type, is_nullable,
               column_default, is_identity, identity_generation, is_generated,
               generation_expression
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name LIKE 'openfn\\_%'
          AND table_name NOT LIKE 'openfn\\_alembic\\_version%'
        ORDER BY table_name, ordinal_position
    """,
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE conrelid::regclass::text LIKE 'openfn\\_%'
          AND conrelid::regclass::text NOT LIKE 'openfn\\_alembic\\_version%'
        ORDER BY 1, 2
    """,
    "functions": """
        SELECT p.proname, pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname LIKE 'openfn\\_%'
        ORDER BY 1
    """,
    "indexes": """
        SELECT tablename, indexname, indexdef
        FROM pg_indexes
        WHERE schemaname = 'public' AND tablename LIKE 'openfn\\_%'
          AND tablename NOT LIKE 'openfn\\_alembic\\_version%'
        ORDER BY 1, 2
    """,
}


def _catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(query).fetchall() for name, query in _CATALOG.items()}


def test_migrations_build_exactly_schema_sql(empty_database):
    migrated, declared = empty_database(), empty_database()
    schema.migrate(migrated)
    with psycopg.connect(declared) as conn:
        conn.execute(schema.schema_sql())

    by_migrations, by_schema_sql = _catalog(migrated), _catalog(declared)

    assert [name for name, _ in by_schema_sql["tables"]] == [
        "openfn_attachment",
        "openfn_attachment_message_id_name_key",
        "openfn_attachment_pkey",
        "openfn_auth_failure",
        "openfn_auth_failure_pkey",
        "openfn_auth_method",
        "openfn_auth_method_id_seq",
        "openfn_auth_method_pkey",
        "openfn_auth_method_project_idx",
        "openfn_dispatch",
        "openfn_dispatch_id_seq",
        "openfn_dispatch_message_id_idx",
        "openfn_dispatch_pending_idx",
        "openfn_dispatch_pkey",
        "openfn_job",
        "openfn_job_pkey",
        "openfn_job_project_trigger_idx",
        "openfn_message",
        "openfn_message_body_idx",
        "openfn_message_id_seq",
        "openfn_message_idempotency_key_idx",
        "openfn_message_pkey",
        "openfn_message_project_id_idx",
        "openfn_message_project_received_idx",
        "openfn_message_received_idx",
        "openfn_message_search_vector_idx",
        "openfn_message_unindexed_idx",
        "openfn_message_version",
        "openfn_message_version_id_seq",
        "openfn_message_version_message_id_idx",
        "openfn_message_version_pkey",
        "openfn_project",
        "openfn_project_inbox_id_key",
        "openfn_project_pkey",
        "openfn_run",
        "openfn_run_dag_run_idx",
        "openfn_run_id_seq",
        "openfn_run_log_search_idx",
        "openfn_run_message_latest_idx",
        "openfn_run_pkey",
        "openfn_run_project_created_at_idx",
        "openfn_run_project_job_id_idx",
        "openfn_run_project_job_status_id_idx",
        "openfn_run_retry_of_idx",
        "openfn_trigger",
        "openfn_trigger_pkey",
    ]
    for part in _CATALOG:
        assert by_migrations[part] == by_schema_sql[part], f"{part} differ: update schema.sql"


def test_migrate_records_head_and_is_a_no_op_the_second_time(empty_database):
    url = empty_database()
    schema.migrate(url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO openfn_project (name, inbox_id) VALUES ('kept', gen_random_uuid())"
        )

    schema.migrate(url)

    with psycopg.connect(url) as conn:
        assert schema.current_revision(conn) == schema.head_revision()
        assert conn.execute("SELECT name FROM openfn_project").fetchall() == [("kept",)]


def test_migrations_downgrade_to_nothing_and_up_again(empty_database):
    url = empty_database()
    schema.migrate(url)
    before = _catalog(url)

    _downgrade(url, "base")
    with psycopg.connect(url) as conn:
        assert _catalog(url)["tables"] == []
        assert schema.current_revision(conn) is None

    schema.migrate(url)
    assert _catalog(url) == before


def _downgrade(url: str, revision: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:
            config = schema.alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def test_current_revision_is_none_before_any_migration(empty_database):
    with psycopg.connect(empty_database()) as conn:
        assert schema.current_revision(conn) is None
