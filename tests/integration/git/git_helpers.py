"""What the git bundle tests share: a project in a local git repository, signed push events.

Each test builds its own repository: a bare one (``origin.git``, what GitHub would host) and a
work clone that commits and pushes. The project holds one job whose final state names the
version of its code, so a run shows which commit it ran.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from openfn_airflow.bundles.webhooks import sign

PROJECT = "gitdemo"
JOB = "report"
DAG_ID = f"openfn__{PROJECT}__{JOB}"
INBOX_ID = "7d0f3a52-2b1e-4c1a-9a55-3f1d1c9e6a20"
BRANCH = "main"
SECRET = "it's a secret to everybody"
DAG_FILE = "openfn_jobs.py"


class ProjectRepo:
    """A bare repository and a work clone holding the test project."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "origin.git"
        self.work = root / "work"
        root.mkdir(parents=True, exist_ok=True)
        _git(root, "init", "--quiet", "--bare", f"--initial-branch={BRANCH}", str(self.bare))
        _git(root, "clone", "--quiet", str(self.bare), str(self.work))
        self.git("config", "user.name", "OpenFn Test")
        self.git("config", "user.email", "test@openfn.invalid")
        self.git("checkout", "--quiet", "-B", BRANCH)

    def git(self, *args: str) -> str:
        return _git(self.work, *args)

    def commit_project(self, version: str, *, push: bool = True, branch: str = BRANCH) -> str:
        """Commit the project with a job that reports ``version``; push it; return the commit."""
        files = {
            DAG_FILE: (
                '"""Airflow DAG file: the OpenFn projects of this repository."""\n\n'
                "from pathlib import Path\n\n"
                "from openfn_airflow.dags.loader import load_dags\n\n"
                "load_dags(Path(__file__).parent, globals())\n"
            ),
            ".airflowignore": "jobs/\n",
            f"{PROJECT}/project.yaml": textwrap.dedent(
                f"""\
                project: {PROJECT}
                inbox:
                  id: {INBOX_ID}
                triggers:
                  reports:
                    criteria: {{kind: report}}
                jobs:
                  {JOB}:
                    file: jobs/{JOB}.py
                    trigger: reports
                """
            ),
            f"{PROJECT}/jobs/{JOB}.py": (
                "from openfn_airflow.runtime import fn\n\n"
                f'operations = [fn(lambda state: {{**state, "version": "{version}"}})]\n'
            ),
        }
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", f"job version {version}")
        commit = self.git("rev-parse", "HEAD")
        if push:
            self.git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        return commit


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


def push_event(after: str, *, ref: str = f"refs/heads/{BRANCH}", before: str = "0" * 40) -> dict:
    """A push event as GitHub sends it (the fields that matter here, and a few others)."""
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "created": False,
        "deleted": set(after) == {"0"},
        "forced": False,
        "repository": {"full_name": "openfn/gitdemo", "default_branch": BRANCH},
        "pusher": {"name": "ada", "email": "ada@openfn.invalid"},
        "head_commit": {"id": after, "message": "job version"},
    }


def delivery(
    event: str, payload: Any, *, secret: str | None = SECRET, delivery_id: str = "d-1"
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a webhook delivery, signed with ``secret`` (None: unsigned)."""
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "User-Agent": "GitHub-Hookshot/test",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return body, headers


def bundle_config(name: str, *, conn_id: str, refresh_interval: int = 3600) -> str:
    """``[dag_processor] dag_bundle_config_list`` with one OpenFnGitDagBundle."""
    return json.dumps(
        [
            {
                "name": name,
                "classpath": "openfn_airflow.bundles.OpenFnGitDagBundle",
                "kwargs": {
                    "tracking_ref": BRANCH,
                    "git_conn_id": conn_id,
                    "refresh_interval": refresh_interval,
                },
            }
        ]
    )


def git_connection(repo: ProjectRepo) -> str:
    """An ``AIRFLOW_CONN_...`` value: a git connection to the bare repository."""
    return json.dumps({"conn_type": "git", "host": str(repo.bare)})


def webhook_connection(secret: str = SECRET) -> str:
    return json.dumps({"conn_type": "generic", "password": secret})
