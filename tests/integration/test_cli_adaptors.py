"""``openfn-airflow adaptors install / list`` and ``import``, run as the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("npm") is None and not os.environ.get("CI"), reason="needs Node.js 20+"
    ),
]

CLI = Path(sys.executable).parent / "openfn-airflow"
COMMON = "@openfn/language-common@3.3.4"


@pytest.fixture
def home(tmp_path):
    """A DAGs folder with one project whose two JS jobs name one adaptor, and an empty repo."""
    dags = tmp_path / "dags"
    project = dags / "demo"
    (project / "jobs").mkdir(parents=True)
    (project / "jobs" / "a.js").write_text("fn(state => state);\n")
    (project / "jobs" / "b.py").write_text("def job(state):\n    return state\n")
    (project / "project.yaml").write_text(
        textwrap.dedent(
            f"""\
            project: demo
            jobs:
              a: {{file: jobs/a.js, adaptor: "{COMMON}"}}
              again: {{file: jobs/a.js, adaptors: ["{COMMON}"]}}
              py: {{file: jobs/b.py}}
            """
        )
    )
    env = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__OPENFN__ADAPTORS_PATH": str(tmp_path / "adaptors"),
    }
    return tmp_path, env


def openfn_airflow(env, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=cwd,
    )


def test_install_puts_every_adaptor_the_jobs_name_into_the_repository(home):
    tmp_path, env = home

    before = openfn_airflow(env, "adaptors", "list")
    first = openfn_airflow(env, "adaptors", "install")
    second = openfn_airflow(env, "adaptors", "install", "demo")
    listing = openfn_airflow(env, "adaptors", "list")

    assert before.returncode == 0 and "no adaptors installed" in before.stdout
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == f"installed {COMMON}"
    assert second.returncode == 0, second.stderr
    assert f"already installed {COMMON}" in second.stdout
    assert "installed @" not in second.stdout.replace("already installed", "")
    assert listing.stdout.splitlines()[1:] == [COMMON]
    manifest = json.loads((tmp_path / "adaptors" / "package.json").read_text())
    assert manifest["dependencies"] == {
        "@openfn/language-common_3.3.4": "npm:@openfn/language-common@3.3.4"
    }


def test_install_of_an_unknown_project_names_the_ones_there(home):
    _, env = home

    result = openfn_airflow(env, "adaptors", "install", "nope")

    assert result.returncode == 1
    assert "no project named 'nope'" in result.stderr and "demo" in result.stderr


def test_install_says_what_to_do_without_npm(home, tmp_path):
    _, env = home
    empty = tmp_path / "empty-bin"
    empty.mkdir()

    result = openfn_airflow({**env, "PATH": str(empty)}, "adaptors", "install")

    assert result.returncode == 1
    assert "Node.js 20" in result.stderr and "npm" in result.stderr


def test_import_writes_a_project_from_a_v1_export(home, tmp_path):
    _, env = home
    export = tmp_path / "export" / "project.yaml"
    export.parent.mkdir()
    export.write_text(
        textwrap.dedent(
            f"""\
            jobs:
              hello:
                expression: "fn(state => state);"
                adaptor: "{COMMON}"
                trigger: form
            triggers:
              form:
                criteria: '{{"form": "visit"}}'
            """
        )
    )

    result = openfn_airflow(env, "import", str(export), "--out", str(tmp_path / "out"))

    assert result.returncode in (0, 1), result.stderr  # 1: written with problems, listed
    assert "imported 1 job(s)" in result.stdout
    assert (tmp_path / "out" / "project.yaml").is_file()


def test_install_lists_adaptor_problems_and_fails(home):
    tmp_path, env = home
    spec = tmp_path / "dags" / "demo" / "project.yaml"
    spec.write_text(
        spec.read_text().replace(
            'adaptors: ["@openfn/language-common@3.3.4"]',
            'adaptors: ["@openfn/language-common@3.3.99"]',
        )
    )

    result = openfn_airflow(env, "adaptors", "install")

    assert result.returncode == 1
    assert (
        "demo: jobs.again.adaptors[0]: @openfn/language-common has no version 3.3.99"
        in result.stderr
    )
    assert (
        f"installed {COMMON}" in result.stdout
    )  # the sound job's adaptor is installed all the same


def test_the_dag_processor_installs_missing_adaptors_without_waiting(home, monkeypatch):
    import time

    from openfn_airflow.dags.loader import load_dags
    from openfn_airflow.runtime import adaptors_repo
    from openfn_airflow.spec.adaptors import set_default_catalog

    tmp_path, env = home
    repo = tmp_path / "adaptors"
    monkeypatch.setenv("AIRFLOW__OPENFN__ADAPTORS_PATH", str(repo))
    load_dags(tmp_path / "nothing-here")  # Airflow's imports are not what is measured
    try:
        started = time.monotonic()
        dags = load_dags(tmp_path / "dags")
        parse_seconds = time.monotonic() - started
    finally:
        set_default_catalog(None)

    assert "openfn__demo__a" in dags  # built although its adaptor is not installed yet
    # The parse asked npm for the versions (once, then cached) but did not wait for the install.
    assert parse_seconds < 2.0
    deadline = time.monotonic() + 240
    while COMMON not in adaptors_repo.installed(repo) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert adaptors_repo.installed(repo) == {COMMON}
