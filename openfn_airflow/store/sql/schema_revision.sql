-- Which migration the openfn_* tables are at (alembic's version table of our own).

-- find_version_table --
SELECT to_regclass('openfn_alembic_version') IS NOT NULL AS present;

-- get_schema_revision --
SELECT version_num FROM openfn_alembic_version;
