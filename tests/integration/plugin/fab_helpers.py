"""An api-server under the FAB auth manager, its users and roles, and clients signed in as them."""

from __future__ import annotations

import subprocess

import httpx
from cluster import VENV_BIN, Cluster

FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


class FabServer(Cluster):
    """Only the api-server, with the FAB auth manager."""

    def start(self, timeout: float = 180) -> FabServer:
        self._spawn("api-server", "api-server", "--port", str(self.port))
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self


# Runs Airflow CLI commands one after the other in ONE Python process: each `airflow` process
# spends seconds importing Airflow and FAB, and a FAB fixture needs half a dozen commands.
_RUN_COMMANDS = """
import json, sys
from airflow.cli import cli_parser
parser = cli_parser.get_parser()
for argv in json.loads(sys.argv[1]):
    print("$ airflow", *argv[:2], flush=True)
    args = parser.parse_args(argv)
    args.func(args)
"""


def airflow_commands(server: Cluster, commands: list[list[str]]) -> None:
    """``airflow <command>`` for each command, in order, in one process; fails on the first error."""
    import json

    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", _RUN_COMMANDS, json.dumps(commands)],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def user_command(user: str, password: str, role: str) -> list[str]:
    """The ``airflow users create`` arguments of a user with one role."""
    return [
        "users",
        "create",
        "--username",
        user,
        f"--password={password}",  # one argument even when it starts with "-"
        "--role",
        role,
        "--email",
        f"{user}@example.org",
        "--firstname",
        user,
        "--lastname",
        "Test",
    ]


def client_for(fab: tuple[Cluster, dict[str, str]], user: str | None) -> httpx.Client:
    server, passwords = fab
    headers = {}
    if user is not None:
        answer = httpx.post(
            f"{server.url}/auth/token",
            json={"username": user, "password": passwords[user]},
            timeout=60,
        )
        assert answer.status_code == 201, answer.text
        headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)
