"""Alembic migrations of the openfn_* tables (``env.py``, ``versions/``, one ``.sql`` per migration).

Run them with ``openfn_airflow.store.schema.migrate()`` or ``airflow db migrate``.
"""
