"""Let ``airflow db migrate`` / ``airflow db reset`` manage the openfn_* tables.

Airflow finds this class under ``db-managers`` in ``openfn_airflow.provider.get_provider_info()``.
"""

from __future__ import annotations

from airflow.utils.db_manager import BaseDBManager
from sqlalchemy import MetaData, Table, text

from openfn_airflow.store.schema import ALEMBIC_INI, MIGRATIONS_DIR, TABLES, VERSION_TABLE

# Table names only: Airflow uses them to check for clashes with its own tables and to see whether
# our tables exist. The columns live in sql/schema.sql and the migrations, nowhere else.
_metadata = MetaData()
for _name in TABLES:
    Table(_name, _metadata)


class OpenFnDBManager(BaseDBManager):
    """Migrate the openfn_* tables with their own alembic environment and version table."""

    metadata = _metadata
    migration_dir = str(MIGRATIONS_DIR)
    alembic_file = str(ALEMBIC_INI)
    version_table_name = VERSION_TABLE
    supports_table_dropping = True
    revision_heads_map = {"0.1.0": "0012"}

    def create_db_from_orm(self) -> None:
        """Build the tables of a fresh database by running the migrations (one schema source)."""
        from alembic import command

        self.log.info("Creating the openfn_* tables by running their migrations")
        self._release_metadata_locks_if_needed()
        command.upgrade(self.get_alembic_config(), "heads")

    def drop_tables(self, connection) -> None:
        """Drop the openfn_* tables and their version table (``airflow db reset``)."""
        if not self.supports_table_dropping:
            return
        # CASCADE: the tables reference each other, and later features may add views on them.
        for name in (*TABLES, VERSION_TABLE):
            connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))

    def downgrade(self, to_revision, from_revision=None, show_sql_only=False) -> None:
        """Downgrade the openfn_* tables to ``to_revision`` (``airflow db-manager downgrade``)."""
        from alembic import command

        config = self.get_alembic_config()
        if show_sql_only:
            start = from_revision or self.get_current_revision()
            command.downgrade(config, revision=f"{start}:{to_revision}", sql=True)
        else:
            command.downgrade(config, revision=to_revision)
