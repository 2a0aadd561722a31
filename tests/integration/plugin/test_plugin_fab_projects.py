"""Each project's data only for who may see its DAGs, under FAB roles given per-DAG permissions.

Two projects share one Airflow: ``inbox`` (project a) and ``core`` (project b). The role
``a-team`` may read, edit and run every DAG of project a and nothing of project b; the role
``a-reader`` may only read one DAG of project a. Every list, export, page and id of project b
is invisible to them, and the ``?dag_id=`` of a DAG they may change opens nothing of b.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cluster import fresh_start
from fab_helpers import FAB, FabServer, airflow_commands, client_for, user_command
from factories import make_message, make_run, serialize_dags
from odk import PHOTO
from plugin_helpers import API

from openfn_airflow.inbox.multipart import Attachment
from openfn_airflow.store import attachments

pytestmark = [pytest.mark.integration]  # an api-server only (no scheduler)

DAGS_FOLDER = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
PROJECTS = Path(__file__).resolve().parents[1] / "projects"
A, B = "inbox", "core"
UI = "/openfn/ui"
# The trick of the issue: a DAG the user may change, named in the query string.
TRICK = {"dag_id": f"openfn__{A}__register"}


def dag(project: str, job: str) -> str:
    return f"openfn__{project}__{job}"


@pytest.fixture(scope="module")
def world(tmp_path_factory, sqlalchemy_url, db_url) -> Iterator[dict[str, Any]]:
    """The api-server under FAB, the two projects' DAGs and history, and the per-DAG roles."""
    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.database import connect

    fresh_start(db_url)
    serialize_dags(DAGS_FOLDER, "openfn_jobs.py")
    word = uuid.uuid4().hex  # in every message and log of project b
    conn = connect(db_url)
    try:
        sync_projects(conn, PROJECTS)
        conn.commit()
        ids = {
            "a_message": make_message(conn, project=A, body={"form": "patient", "name": "Ann"})[
                "id"
            ],
            "b_message": make_message(conn, project=B, body={"form": "intake", "word": word})["id"],
        }
        ids["a_run"] = make_run(
            conn,
            project=A,
            job="register",
            message_id=ids["a_message"],
            status="failed",
            exit_code=1,
            log="register failed",
        )["id"]
        ids["a_visit_run"] = make_run(
            conn, project=A, job="visit", status="failed", exit_code=1, log="visit failed"
        )["id"]
        ids["a_archived_run"] = make_run(
            conn, project=A, job="old", status="success", log="an archived job's run"
        )["id"]
        ids["b_run"] = make_run(
            conn,
            project=B,
            job="intake",
            message_id=ids["b_message"],
            status="failed",
            exit_code=1,
            log=f"intake failed {word}",
        )["id"]
        # Each message has a photo; b's holds b's word in its name and its bytes.
        a_photo = Attachment("a.jpg", "photo", "image/jpeg", PHOTO)
        b_photo = Attachment(f"{word}.jpg", "photo", "image/jpeg", PHOTO + word.encode())
        attachments.add_attachments(conn, ids["a_message"], [a_photo])
        attachments.add_attachments(conn, ids["b_message"], [b_photo])
        conn.commit()
        a_dags = [
            row["dag_id"]
            for row in conn.execute(
                "SELECT j.dag_id FROM openfn_job AS j JOIN dag AS d ON d.dag_id = j.dag_id "
                "WHERE j.project = %s ORDER BY 1",
                [A],
            )
        ]
    finally:
        conn.close()
    assert dag(A, "register") in a_dags and dag(A, "visit") in a_dags

    server = FabServer(
        tmp_path_factory.mktemp("airflow-home-fab-projects"),
        sqlalchemy_url,
        DAGS_FOLDER,
        AIRFLOW__CORE__AUTH_MANAGER=FAB,
        AIRFLOW__FAB__UPDATE_FAB_PERMS="True",
    )
    # Read, edit and run each DAG of project a (FAB's per-DAG resources); one call for all.
    resources = [f"DAG:{d}" for d in a_dags] + [f"DAG Run:{d}" for d in a_dags]
    actions = ["can_read", "can_edit", "can_create"]
    passwords = {
        "a-user": secrets.token_urlsafe(12),
        "a-reader": secrets.token_urlsafe(12),
        "admin": secrets.token_urlsafe(12),
    }
    airflow_commands(
        server,
        [
            ["fab-db", "migrate"],
            ["sync-perm", "--include-dags"],  # the DAG:<id> resources
            ["roles", "create", "a-team", "a-reader"],
            ["roles", "add-perms", "a-team", "-r", *resources, "-a", *actions],
            ["roles", "add-perms", "a-reader", "-r", f"DAG:{dag(A, 'register')}", "-a", "can_read"],
            user_command("a-user", passwords["a-user"], "a-team"),
            user_command("a-reader", passwords["a-reader"], "a-reader"),
            user_command("admin", passwords["admin"], "Admin"),
        ],
    )
    server.start()
    try:
        with client_for((server, passwords), "admin") as http:
            made = http.post(f"{API}/projects/{B}/auth-methods", json={"kind": "api_key"})
            assert made.status_code == 201, made.text
            ids["b_method"] = made.json()["method"]["id"]
        yield {"server": server, "passwords": passwords, "ids": ids, "word": word}
    finally:
        server.stop()
        fresh_start(db_url)


def signed_in(world: dict[str, Any], user: str) -> httpx.Client:
    return client_for((world["server"], world["passwords"]), user)


def projects_in_csv(text: str) -> set[str]:
    return {row["project"] for row in csv.DictReader(io.StringIO(text))}


def test_lists_exports_and_counts_show_only_the_users_project(world):
    with signed_in(world, "a-user") as http:
        names = [p["name"] for p in http.get(f"{API}/projects").json()["items"]]
        assert names == [A]
        messages = http.get(f"{API}/messages", params={"received_after": "all"}).json()
        assert {m["project"] for m in messages["items"]} == {A}
        assert messages["total"] == 1
        of_b = http.get(f"{API}/messages", params={"project": B, "received_after": "all"})
        assert of_b.status_code == 200 and of_b.json()["items"] == [] and of_b.json()["total"] == 0
        # Naming b's trigger tells nothing either (no "not a trigger of b" error).
        trigger = http.get(f"{API}/messages", params={"project": B, "trigger": "forms"})
        assert trigger.status_code == 200 and trigger.json()["items"] == []
        runs = http.get(f"{API}/runs", params={"after": "all"}).json()
        assert {r["project"] for r in runs["items"]} == {A} and runs["total"] == 2
        searched = http.get(f"{API}/runs", params={"after": "all", "q": world["word"]}).json()
        assert searched["items"] == [] and searched["total"] == 0
        assert projects_in_csv(http.get(f"{API}/messages.csv?received_after=all").text) == {A}
        assert projects_in_csv(http.get(f"{API}/runs.csv?after=all").text) == {A}
        jobs = http.get(f"{API}/jobs").json()["items"]
        assert {j["project"] for j in jobs} == {A}


def test_ids_and_names_of_the_other_project_answer_404(world):
    ids = world["ids"]
    with signed_in(world, "a-user") as http:
        for path in (
            f"{API}/messages/{ids['b_message']}",
            f"{API}/messages/{ids['b_message']}/attachments/1",
            f"{API}/messages/{ids['b_message']}/attachments/{world['word']}.jpg",
            f"{API}/runs/{ids['b_run']}",
            f"{API}/projects/{B}/usage",
            f"{API}/projects/{B}/auth-methods",
        ):
            answer = http.get(path)
            assert answer.status_code == 404, (path, answer.text)
            assert world["word"] not in answer.text
        assert http.get(f"{API}/messages/{ids['a_message']}").status_code == 200
        own = http.get(f"{API}/messages/{ids['a_message']}/attachments/a.jpg")
        assert own.status_code == 200 and own.content == PHOTO
        assert http.get(f"{API}/projects/{A}/usage").status_code == 200
    with signed_in(world, "admin") as http:
        theirs = http.get(f"{API}/messages/{ids['b_message']}/attachments/1")
        assert theirs.status_code == 200 and theirs.content.endswith(world["word"].encode())


def test_the_dag_id_trick_changes_nothing_of_the_other_project(world):
    ids = world["ids"]
    with signed_in(world, "a-user") as http:
        refused = [
            http.post(f"{API}/projects/{B}/auth-methods", params=TRICK, json={"kind": "api_key"}),
            http.delete(f"{API}/projects/{B}/auth-methods/{ids['b_method']}", params=TRICK),
            http.put(f"{API}/messages/{ids['b_message']}", params=TRICK, json={"body": {"x": 1}}),
            http.post(f"{API}/messages/{ids['b_message']}/process", params=TRICK),
        ]
        for answer in refused:
            assert answer.status_code == 404, (
                answer.request.method,
                answer.request.url,
                answer.text,
            )
        reprocess = http.post(
            f"{API}/messages/reprocess", params=TRICK, json={"project": B, "received_after": "all"}
        )
        assert reprocess.status_code == 200 and reprocess.json()["count"] == 0
        retry = http.post(f"{API}/runs/retry", params=TRICK, json={"project": B, "after": "all"})
        assert retry.status_code == 200 and retry.json()["count"] == 0
    with signed_in(world, "admin") as http:
        methods = http.get(f"{API}/projects/{B}/auth-methods").json()["items"]
        assert [(m["id"], m["revoked_at"]) for m in methods] == [(ids["b_method"], None)]
        message = http.get(f"{API}/messages/{ids['b_message']}").json()
        assert message["body"] == {"form": "intake", "word": world["word"]}
        assert message["dispatches"] == []
        assert http.get(f"{API}/runs/{ids['b_run']}").json()["retried_by"] == []


def test_the_user_changes_their_own_project(world):
    with signed_in(world, "a-user") as http:
        project = http.get(f"{API}/projects").json()["items"][0]
        assert project["inbox_url"] and project["inbox_url"].endswith(
            "/openfn/inbox/" + project["inbox_url"].rsplit("/", 1)[1]
        )
        made = http.post(f"{API}/projects/{A}/auth-methods", json={"kind": "api_key"})
        assert made.status_code == 201, made.text
        retry = http.post(
            f"{API}/runs/retry", json={"project": A, "after": "all", "dry_run": True}
        ).json()
        assert retry["count"] == 2


def test_a_reader_of_one_dag_sees_its_runs_only_and_manages_nothing(world):
    ids = world["ids"]
    with signed_in(world, "a-reader") as http:
        projects = http.get(f"{API}/projects").json()["items"]
        assert [(p["name"], p["inbox_url"]) for p in projects] == [(A, None)]
        runs = http.get(f"{API}/runs", params={"after": "all"}).json()["items"]
        assert [r["id"] for r in runs] == [ids["a_run"]]
        assert http.get(f"{API}/runs/{ids['a_visit_run']}").status_code == 404
        add = http.post(f"{API}/projects/{A}/auth-methods", json={"kind": "api_key"})
        assert add.status_code == 403
        # The archived job of the project they see: listed, its runs not theirs (no DAG says so).
        jobs = {j["name"]: j for j in http.get(f"{API}/jobs").json()["items"]}
        assert jobs["old"]["archived"] is True and jobs["old"]["last_run"] is None
        assert "visit" not in jobs  # a live job whose DAG they may not read
        assert http.get(f"{API}/runs/{ids['a_archived_run']}").status_code == 404
        retry = http.post(f"{API}/runs/retry", json={"project": A, "after": "all"})
        assert retry.status_code == 403
    with signed_in(world, "admin") as http:
        jobs = {
            j["name"]: j for j in http.get(f"{API}/jobs", params={"project": A}).json()["items"]
        }
        assert jobs["old"]["last_run"]["id"] == ids["a_archived_run"]


def test_the_screens_show_nothing_of_the_other_project(world):
    ids = world["ids"]
    with signed_in(world, "a-user") as http:
        for path in (
            f"{UI}/inbox?received_after=all",
            f"{UI}/runs?after=all",
            f"{UI}/jobs",
            f"{UI}/settings",
            f"{UI}/settings?project={B}",
        ):
            page = http.get(path)
            assert page.status_code == 200, path
            assert world["word"] not in page.text and dag(B, "intake") not in page.text, path
            assert f"<option>{B}</option>" not in page.text, path
        for path in (f"{UI}/messages/{ids['b_message']}", f"{UI}/runs/{ids['b_run']}"):
            page = http.get(path)
            assert page.status_code == 404, path
            assert world["word"] not in page.text
