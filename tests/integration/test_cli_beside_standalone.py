"""The CLI in a second terminal beside a real ``openfn-airflow standalone``: nothing exported.

Standalone runs in a throw-away checkout (its own ``dags/``, ``.airflow`` and database); the
commands run from that checkout with no AIRFLOW_* variable, as the README writes them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cluster import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "openfn-airflow"
UP = "openfn-airflow is up"
START_TIMEOUT = 300.0

PROJECT = """\
project: beside
triggers:
  form: {criteria: {formID: beside}}
jobs:
  keep:
    file: jobs/keep.py
    trigger: form
"""
JOB = """\
from openfn_airflow.runtime import fn

operations = [fn(lambda state: state)]
"""


def clean_environment() -> dict[str, str]:
    """A second terminal's environment: no Airflow or openfn settings, this worktree's code."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "OPENFN_", "_AIRFLOW"))
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return env


def make_checkout(root: Path) -> Path:
    dags = root / "dags"
    (dags / "beside" / "jobs").mkdir(parents=True)
    (dags / "openfn_jobs.py").write_text((REPO / "dags" / "openfn_jobs.py").read_text())
    (dags / ".airflowignore").write_text("**/jobs/\n")
    (dags / "beside" / "project.yaml").write_text(PROJECT)
    (dags / "beside" / "jobs" / "keep.py").write_text(JOB)
    return root


class Standalone:
    def __init__(self, checkout: Path, database_url: str) -> None:
        self.port = free_port()
        self.output = checkout / "standalone.out"
        env = clean_environment()
        # The user's choice of database (README: "1. AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"), so the
        # test owns its database; the CLI is not given it.
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = database_url
        self.process = subprocess.Popen(
            [str(CLI), "standalone", "--port", str(self.port), "--fake-api-port", str(free_port())],
            cwd=checkout,
            env=env,
            stdout=self.output.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if UP in self.output.read_text():
                return
            if self.process.poll() is not None:
                break
            time.sleep(1)
        pytest.fail(f"standalone did not come up:\n{self.output.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def standalone(tmp_path, template_clone) -> Iterator[tuple[Standalone, Path, str]]:
    database_url = template_clone()
    checkout = make_checkout(tmp_path / "checkout")
    running = Standalone(checkout, database_url)
    try:
        running.wait_up()
        yield running, checkout, database_url
    finally:
        running.stop()


def openfn_airflow(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_the_readme_commands_work_beside_standalone_with_nothing_exported(standalone):
    running, checkout, database_url = standalone

    added = openfn_airflow(checkout, "auth", "add-key", "beside")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    assert len(key) >= 32 and "\n" not in key
    assert "shown only this once" in added.stderr

    # From a subfolder too, as a user who cd'ed into the project would.
    url = openfn_airflow(checkout / "dags" / "beside", "inbox-url", "beside")
    assert url.returncode == 0, url.stderr
    inbox_url = url.stdout.strip()
    assert inbox_url.startswith(f"http://localhost:{running.port}/openfn/inbox/")

    listed = openfn_airflow(checkout, "auth", "list", "beside")
    assert listed.returncode == 0, listed.stderr
    assert "beside: the inbox takes requests that carry an active method" in listed.stdout
    assert f"...{key[-4:]}" in listed.stdout and "active" in listed.stdout

    # The key the CLI made is the one the running api-server checks: same database.
    assert post(inbox_url, {"formID": "beside"}, {})[0] == 401
    status, answer = post(inbox_url, {"formID": "beside"}, {"x-api-key": key})
    assert (status, answer.get("matched")) == (202, ["form"])
    with psycopg.connect(database_url) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM openfn_auth_method WHERE project = 'beside'"
        ).fetchone()
    assert count == 1

    home = checkout / ".airflow"
    adaptors = openfn_airflow(checkout, "adaptors", "list")
    assert adaptors.returncode == 0, adaptors.stderr
    assert str(home / "openfn" / "adaptors") in adaptors.stdout  # standalone's repository
    validated = openfn_airflow(checkout, "validate", "dags/beside")
    assert validated.returncode == 0 and validated.stdout.endswith(": ok\n"), validated.stdout

    assert (
        home / "openfn-standalone.json"
    ).stat().st_mode & 0o077 == 0  # the URLs may hold a password
    verbose = openfn_airflow(checkout, "--verbose", "auth", "list", "beside")
    assert f"the standalone home {home}" in verbose.stderr
    assert listed.stderr == ""  # without --verbose, nothing extra is said
