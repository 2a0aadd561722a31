"""Projects keep one inbox id: generated once, or fixed by the spec."""

from __future__ import annotations

import uuid

import pytest

from openfn_airflow.store import projects
from openfn_airflow.store.errors import StoreError

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_db")]


def test_inbox_id_is_generated_once_and_kept(conn):
    first = projects.ensure_project(conn, "demo")
    again = projects.ensure_project(conn, "demo")

    assert again == first
    assert uuid.UUID(first).version == 4
    assert projects.get_project(conn, "demo")["inbox_id"] == first
    assert projects.ensure_project(conn, "other") != first


def test_inbox_id_survives_other_connections(conn, db_url):
    from openfn_airflow.store.database import connect

    first = projects.ensure_project(conn, "demo")
    conn.commit()
    with connect(db_url) as other:
        assert projects.ensure_project(other, "demo") == first


def test_fixed_inbox_id_is_stored_and_replaces_a_generated_one(conn):
    projects.ensure_project(conn, "demo")
    fixed = "7c1e0c4e-5a0b-4a57-9d43-2b0f4e8b3c11"

    assert projects.ensure_project(conn, "demo", inbox_id=fixed) == fixed
    assert projects.ensure_project(conn, "demo") == fixed
    assert projects.ensure_project(conn, "new", inbox_id=fixed.upper().replace("7C1E", "8D2F")) == (
        "8d2f0c4e-5a0b-4a57-9d43-2b0f4e8b3c11"
    )


def test_project_is_found_by_its_inbox_id(conn):
    inbox_id = projects.ensure_project(conn, "demo")

    assert projects.get_project_by_inbox(conn, inbox_id)["name"] == "demo"
    assert projects.get_project_by_inbox(conn, str(uuid.uuid4())) is None
    assert projects.get_project_by_inbox(conn, "not-a-uuid") is None


def test_unknown_project_is_none(conn):
    assert projects.get_project(conn, "nope") is None


def test_inbox_id_that_is_not_a_uuid_is_refused(conn):
    with pytest.raises(StoreError, match="'inbox-1' is not a UUID"):
        projects.ensure_project(conn, "demo", inbox_id="inbox-1")


def test_two_projects_cannot_share_an_inbox_id(conn):
    fixed = projects.ensure_project(conn, "demo")

    with pytest.raises(StoreError, match="openfn_project_inbox_id_key"):
        projects.ensure_project(conn, "other", inbox_id=fixed)
