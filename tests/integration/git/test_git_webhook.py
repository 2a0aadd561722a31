"""``POST /openfn/github/webhook`` through Airflow's real api-server app, in-process.

Each test has its own local git repository (bare ``origin.git`` plus a work clone), its own
``OpenFnGitDagBundle`` (a fresh name, its storage in the test's temporary folder) and the
webhook's secret in an ``AIRFLOW_CONN_...`` variable. The bundle is refreshed in-process where a
test checks what it deploys; the real dag-processor does it in test_git_deploy.py.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from git_helpers import (
    BRANCH,
    DAG_FILE,
    JOB,
    PROJECT,
    SECRET,
    ProjectRepo,
    bundle_config,
    delivery,
    git_connection,
    push_event,
    webhook_connection,
)

from openfn_airflow.bundles.webhooks import sign, signature_matches

pytestmark = [pytest.mark.integration]

WEBHOOK = "/openfn/github/webhook"
GIT_CONN_ID = "openfn_test_git"


@dataclass
class GitSetup:
    repo: ProjectRepo
    bundle: str
    storage: Path

    def deployment(self) -> Any:
        from openfn_airflow.bundles.deployments import read_deployment

        return read_deployment(self.bundle)

    def refreshed(self) -> Any:
        """The bundle as the dag-processor holds it: initialized (cloned), then refreshed."""
        from airflow.dag_processing.bundles.manager import DagBundlesManager

        bundle = DagBundlesManager().get_bundle(self.bundle)
        bundle.initialize()  # clones, then refresh()
        bundle.refresh()
        return bundle


@pytest.fixture(scope="module")
def client(_session_database: None) -> Any:
    """Airflow's api-server app as ``airflow api-server`` builds it, plugins included."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    return TestClient(create_app())


@pytest.fixture
def git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, conn: Any) -> Iterator[GitSetup]:
    repo = ProjectRepo(tmp_path / "repo")
    name = f"git-{secrets.token_hex(4)}"
    storage = tmp_path / "bundles"
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", bundle_config(name, conn_id=GIT_CONN_ID)
    )
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(storage))
    monkeypatch.setenv(f"AIRFLOW_CONN_{GIT_CONN_ID.upper()}", git_connection(repo))
    monkeypatch.setenv("AIRFLOW_CONN_OPENFN_GITHUB_WEBHOOK", webhook_connection())
    monkeypatch.delenv("AIRFLOW__OPENFN__GITHUB_WEBHOOK_CONN_ID", raising=False)
    yield GitSetup(repo, name, storage)
    from openfn_airflow.bundles.deployments import variable_key

    conn.rollback()
    conn.execute("DELETE FROM variable WHERE key = %s", [variable_key(name)])
    for table, column in (
        ("dag_priority_parsing_request", "bundle_name"),
        ("import_error", "bundle_name"),
        ("dag_bundle", "name"),
    ):
        conn.execute(f"DELETE FROM {table} WHERE {column} = %s", [name])
    conn.commit()


def post(client: Any, event: str, payload: Any, **kwargs: Any) -> Any:
    body, headers = delivery(event, payload, **kwargs)
    return client.post(WEBHOOK, content=body, headers=headers)


def _sig(body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(SECRET, body)}


def test_signature_check_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"zen": "Design for failure."}'
    good = sign(SECRET, body)
    assert good.startswith("sha256=") and len(good) == len("sha256=") + 64
    assert signature_matches(SECRET, body, good)
    assert signature_matches(SECRET, body, good.upper().replace("SHA256=", "sha256="))
    assert not signature_matches(SECRET, body + b" ", good)
    assert not signature_matches("other secret", body, good)
    assert not signature_matches(SECRET, body, good.replace("sha256=", "sha1="))
    assert not signature_matches(SECRET, body, None)
    assert not signature_matches("", body, sign("", body))
    assert not signature_matches(SECRET, body, "sha256=é")


def test_unsigned_or_wrongly_signed_deliveries_get_401(client: Any, git: GitSetup) -> None:
    commit = git.repo.commit_project("one")
    payload = push_event(commit)

    missing = post(client, "push", payload, secret=None)
    wrong_secret = post(client, "push", payload, secret="not the secret")
    body, headers = delivery("push", payload)
    tampered = client.post(WEBHOOK, content=body.replace(b"ada", b"eve"), headers=headers)
    unsigned_ping = post(client, "ping", {"zen": "Keep it logically awesome."}, secret=None)

    for answer in (missing, wrong_secret, tampered, unsigned_ping):
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_signature"
    assert git.deployment() is None


def test_without_the_connection_the_webhook_is_not_configured(
    client: Any, git: GitSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_OPENFN_GITHUB_WEBHOOK")
    answer = post(client, "ping", {"zen": "Approachable is better than simple."})
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_configured"
    assert "openfn_github_webhook" in answer.json()["message"]

    # [openfn] github_webhook_conn_id names another connection
    monkeypatch.setenv("AIRFLOW__OPENFN__GITHUB_WEBHOOK_CONN_ID", "team_github")
    monkeypatch.setenv("AIRFLOW_CONN_TEAM_GITHUB", webhook_connection("team secret"))
    assert post(client, "ping", {}, secret=SECRET).status_code == 401
    assert post(client, "ping", {}, secret="team secret").status_code == 200


def test_ping_other_events_and_other_refs_are_not_deployed(client: Any, git: GitSetup) -> None:
    commit = git.repo.commit_project("one")

    ping = post(client, "ping", {"zen": "Half measures are as bad as nothing at all."})
    issues = post(client, "issues", {"action": "opened"})
    other_branch = post(client, "push", push_event(commit, ref="refs/heads/feature"))
    tag = post(client, "push", push_event(commit, ref="refs/tags/v1"))
    deleted = post(client, "push", push_event("0" * 40))
    not_json = client.post(
        WEBHOOK,
        content=b"{not json",
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            **_sig(b"{not json"),
        },
    )

    assert ping.status_code == 200 and ping.json()["event"] == "ping"
    assert issues.status_code == 202 and issues.json()["ignored"] == "only push events deploy"
    assert other_branch.status_code == 202, other_branch.text
    assert other_branch.json()["ignored"] == "no git bundle tracks this branch"
    assert other_branch.json()["tracked"] == [BRANCH]
    assert tag.status_code == 202 and tag.json()["ignored"] == "not a branch"
    assert deleted.status_code == 202 and deleted.json()["ignored"] == "the branch was deleted"
    assert not_json.status_code == 400 and not_json.json()["error"] == "bad_payload"
    assert git.deployment() is None


def test_push_to_the_tracked_branch_records_it_and_requests_a_refresh(
    client: Any, git: GitSetup, conn: Any
) -> None:
    commit = git.repo.commit_project("one")
    # Airflow knows the bundle and one of its DAG files (here through an import error).
    conn.execute(
        "INSERT INTO dag_bundle (name, active, last_refreshed) VALUES (%s, true, now())",
        [git.bundle],
    )
    conn.execute(
        "INSERT INTO import_error (filename, bundle_name, timestamp, stacktrace) "
        "VALUES (%s, %s, now(), 'boom')",
        [DAG_FILE, git.bundle],
    )
    conn.commit()

    answer = post(client, "push", push_event(commit), delivery_id="first")
    again = post(client, "push", push_event(commit), delivery_id="again")

    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "event": "push",
        "ref": f"refs/heads/{BRANCH}",
        "commit": commit,
        "bundles": [
            {
                "bundle": git.bundle,
                "branch": BRANCH,
                "tip": commit,
                "deploys": commit,
                "refresh_requested": True,
                "reparse": [DAG_FILE],
            }
        ],
        "skipped": [],
        "delivery": "first",
    }
    assert again.status_code == 202
    requests = conn.execute(
        "SELECT relative_fileloc FROM dag_priority_parsing_request WHERE bundle_name = %s",
        [git.bundle],
    ).fetchall()
    assert [row["relative_fileloc"] for row in requests] == [DAG_FILE]  # one request, not two
    deployment = git.deployment()
    assert (deployment.commit, deployment.tip, deployment.branch) == (commit, commit, BRANCH)
    assert deployment.delivery == "again" and deployment.pusher == "ada"

    # A bundle with no DAG file known yet: its next bundle check refreshes it.
    conn.execute("DELETE FROM import_error WHERE bundle_name = %s", [git.bundle])
    conn.commit()
    answer = post(client, "push", push_event(commit))
    assert answer.status_code == 202 and answer.json()["bundles"][0]["reparse"] == []
    row = conn.execute(
        "SELECT last_refreshed FROM dag_bundle WHERE name = %s", [git.bundle]
    ).fetchone()
    assert row["last_refreshed"] is None


def test_form_encoded_deliveries_are_read_too(client: Any, git: GitSetup) -> None:
    commit = git.repo.commit_project("one")
    body = urlencode({"payload": json.dumps(push_event(commit))}).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-GitHub-Event": "push",
        **_sig(body),
    }
    answer = client.post(WEBHOOK, content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["bundles"][0]["deploys"] == commit


def test_a_commit_not_on_the_tracked_branch_is_refused_with_422(client: Any, git: GitSetup) -> None:
    git.repo.commit_project("one")
    git.repo.git("checkout", "--quiet", "-b", "feature")
    elsewhere = git.repo.commit_project("feature", branch="feature")
    git.repo.git("checkout", "--quiet", BRANCH)

    not_on_branch = post(client, "push", push_event(elsewhere))
    unknown = post(client, "push", push_event(secrets.token_hex(20)))

    assert not_on_branch.status_code == 422, not_on_branch.text
    assert not_on_branch.json()["error"] == "commit_refused"
    assert not_on_branch.json()["bundles"][0]["error"] == "not_on_branch"
    assert unknown.status_code == 422
    assert unknown.json()["bundles"][0]["error"] == "unknown_commit"
    assert git.deployment() is None


def test_one_bundle_by_name(client: Any, git: GitSetup) -> None:
    commit = git.repo.commit_project("one")
    body, headers = delivery("push", push_event(commit))

    unknown = client.post(f"{WEBHOOK}?bundle=nope", content=body, headers=headers)
    named = client.post(f"{WEBHOOK}?bundle={git.bundle}", content=body, headers=headers)

    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_bundle"
    assert named.status_code == 202 and named.json()["bundles"][0]["bundle"] == git.bundle


def test_an_older_commit_is_deployed_until_the_branch_moves_on(client: Any, git: GitSetup) -> None:
    first = git.repo.commit_project("one")
    second = git.repo.commit_project("two")

    def deployed(bundle: Any) -> tuple[str, str]:
        job = (bundle.path / PROJECT / "jobs" / f"{JOB}.py").read_text()
        match = re.search(r'"version": "(\w+)"', job)
        assert match is not None
        return bundle.get_current_version().version, match.group(1)

    assert deployed(git.refreshed()) == (second, "two")  # no push event yet: the tip

    answer = post(client, "push", push_event(first, before=second))
    assert answer.status_code == 202, answer.text
    assert answer.json()["bundles"][0] | {"reparse": None} == {
        "bundle": git.bundle,
        "branch": BRANCH,
        "tip": second,
        "deploys": first,
        "refresh_requested": True,
        "reparse": None,
    }
    assert deployed(git.refreshed()) == (first, "one")
    assert deployed(git.refreshed()) == (first, "one")  # and it stays there

    # A newer push whose delivery never came: the branch moved on, the bundle follows it.
    third = git.repo.commit_project("three")
    assert deployed(git.refreshed()) == (third, "three")

    # Re-sending the second commit's event deploys it again.
    assert post(client, "push", push_event(second)).status_code == 202
    assert deployed(git.refreshed()) == (second, "two")
