"""Migration 0007 on data stored before it: inboxes with a method stay protected once their
methods are revoked, no part of a basic password stays, stored paths lose the inbox id."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from openfn_airflow.store import schema

pytestmark = pytest.mark.integration

INBOX = "7c1e0b2a-8c7d-4f5e-9a3b-2d1c0e9f8a7b"


def test_0007_keeps_protected_inboxes_closed_and_forgets_inbox_ids(empty_database):
    url = empty_database()
    schema.migrate(url, "0006")
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO openfn_project (name, inbox_id) VALUES "
            "('keyed', gen_random_uuid()), ('was-keyed', gen_random_uuid()), "
            f"('open', '{INBOX}')"
        )
        conn.execute(
            "INSERT INTO openfn_auth_method (project, kind, username, secret_hash, secret_hint, "
            "revoked_at) VALUES ('keyed', 'basic', 'odk', 'scrypt$x', 'Zq9!', NULL), "
            "('was-keyed', 'api_key', NULL, 'abc', 'beef', now())"
        )
        conn.execute(
            "INSERT INTO openfn_message (project, body, path) VALUES "
            f"('open', '{{}}', '/openfn/inbox/{INBOX}/submission')"
        )
        conn.execute(
            "INSERT INTO openfn_run (project, job, trigger, status, initial_state, final_state) "
            "VALUES ('open', 'j', 'message', 'success', %s, %s)",
            [
                psycopg.types.json.Jsonb({"request": {"path": f"/openfn/inbox/{INBOX}"}}),
                psycopg.types.json.Jsonb({"request": {"path": f"/openfn/inbox/{INBOX}/x"}}),
            ],
        )

    schema.migrate(url)

    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT name, inbox_requires_auth FROM openfn_project").fetchall()
        flags = {row["name"]: row["inbox_requires_auth"] for row in rows}
        dump = repr(conn.execute("SELECT * FROM openfn_auth_method").fetchall())
        message = conn.execute("SELECT path FROM openfn_message").fetchone()
        run = conn.execute("SELECT initial_state, final_state FROM openfn_run").fetchone()
    assert flags == {"keyed": True, "was-keyed": False, "open": False}
    assert "Zq9!" not in dump and "beef" in dump
    assert message == {"path": "/openfn/inbox/{inbox}/submission"}
    assert run["initial_state"]["request"]["path"] == "/openfn/inbox/{inbox}"
    assert run["final_state"]["request"]["path"] == "/openfn/inbox/{inbox}/x"
