"""The JavaScript engine's sandbox: the known escapes out of the runtime's vm get nothing.

OpenFn's ``vm`` context is no security boundary: ``state.constructor.constructor('return
process')()`` (or the same through any adaptor function or ``console.log``) hands a job the host
``process``. What holds is around the process: an environment of ``PATH`` only, the credential
on stdin only, Node's permission model (reads of the runner's and adaptors' folders only, no
writes, no child processes, no workers). Each test runs the escapes inside a real job.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
from adaptors import adaptors_repo

from openfn_airflow.runtime import node_spares
from openfn_airflow.runtime.engines import JobCode
from openfn_airflow.runtime.node import NodeEngine

COMMON = "@openfn/language-common@3.3.4"
FAKE_SECRET = "fake-secret-from-the-task-env-9d2c"
PASSWORD = "the-connection-password-51"

#: Three ways the known escape reaches the host's Function constructor.
ROUTES = {
    "state": "state.constructor.constructor",
    "adaptor function": "fn.constructor",
    "console.log": "console.log.constructor",
}

PROBES = """
fn(state => {
  const host = (%(route)s)('return globalThis')();
  const process = host.process;
  const probe = (attempt) => {
    try { return { got: attempt() }; } catch (e) { return { denied: e.code || e.name }; }
  };
  const fs = process.getBuiltinModule('fs');
  const cp = process.getBuiltinModule('child_process');
  const threads = process.getBuiltinModule('worker_threads');
  return { ...state, data: {
    pid: process.pid,
    env: { ...process.env },
    passwd: probe(() => fs.readFileSync('/etc/passwd', 'utf8')),
    other_job: probe(() => fs.readFileSync(%(other_job)s, 'utf8')),
    other_folder: probe(() => fs.readdirSync(%(other_folder)s)),
    own_folder: probe(() => fs.readdirSync(%(own_folder)s)),
    write: probe(() => fs.writeFileSync(%(write)s, 'written')),
    exec: probe(() => cp.execFileSync('/bin/echo', ['escaped']).toString()),
    spawn: probe(() => { cp.spawn('/bin/sh', ['-c', 'echo escaped']); return 'spawned'; }),
    worker: probe(() => { new threads.Worker('1', { eval: true }); return 'started'; }),
  } };
});
"""


@pytest.fixture(scope="module")
def repo() -> Path:
    return adaptors_repo()


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    own = tmp_path / "project-a" / "jobs"
    other = tmp_path / "project-b" / "jobs"
    own.mkdir(parents=True)
    other.mkdir(parents=True)
    (other / "secret_job.js").write_text("// project b's job: OTHER_PROJECT_SECRET\n")
    (own / ".env").write_text("PROJECT_A_SECRET=1\n")
    return {"own": own, "other": other, "write": tmp_path / "written-by-the-job.txt"}


def escape_job(route: str, folders: dict[str, Path]) -> Path:
    job = folders["own"] / "escapes.js"
    job.write_text(
        PROBES
        % {
            "route": ROUTES[route],
            "other_job": json.dumps(str(folders["other"] / "secret_job.js")),
            "other_folder": json.dumps(str(folders["other"])),
            "own_folder": json.dumps(str(folders["own"])),
            "write": json.dumps(str(folders["write"])),
        }
    )
    return job


def run_escapes(repo: Path, job: Path, configuration: Any = None) -> tuple[dict[str, Any], str]:
    code = JobCode(file=str(job), adaptors=(COMMON,), adaptors_path=str(repo))
    with NodeEngine(spares=False).open(code, configuration) as session:
        result = session.run({"data": {}})
    assert result.exit_code == 0, result.log
    assert result.final_state is not None
    return result.final_state["data"], result.log


@pytest.mark.parametrize("route", list(ROUTES))
def test_an_escaped_job_sees_no_environment_but_path(
    repo: Path, folders: dict[str, Path], route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENFN_FAKE_SECRET", FAKE_SECRET)
    monkeypatch.setenv("HOME", "/root")
    data, log = run_escapes(repo, escape_job(route, folders))
    assert data["env"] == {"PATH": os.environ["PATH"]}
    assert FAKE_SECRET not in json.dumps(data)
    assert FAKE_SECRET not in log


@pytest.mark.parametrize("route", list(ROUTES))
def test_an_escaped_job_reads_and_writes_no_file_and_starts_no_process(
    repo: Path, folders: dict[str, Path], route: str
) -> None:
    data, _log = run_escapes(repo, escape_job(route, folders))
    denied = {"denied": "ERR_ACCESS_DENIED"}
    assert data["passwd"] == denied
    assert data["other_job"] == denied
    assert data["other_folder"] == denied
    assert data["own_folder"] == denied
    assert data["write"] == denied
    assert not folders["write"].exists()
    assert data["exec"] == denied
    assert data["spawn"] == denied
    assert data["worker"] == denied


def test_the_credential_is_in_no_process_environment_or_argument(
    repo: Path, folders: dict[str, Path]
) -> None:
    job = escape_job("state", folders)
    code = JobCode(file=str(job), adaptors=(COMMON,), adaptors_path=str(repo))
    with NodeEngine(spares=False).open(code, {"password": PASSWORD}) as session:
        result = session.run({"data": {}})
        assert result.final_state is not None
        pid = result.final_state["data"]["pid"]
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert environ.split(b"\0")[0].startswith(b"PATH=")
    assert [item for item in environ.split(b"\0") if item] == [
        f"PATH={os.environ['PATH']}".encode()
    ]
    assert PASSWORD.encode() not in environ
    assert PASSWORD.encode() not in cmdline
    assert b"--experimental-permission" in cmdline


def test_configuration_values_never_reach_a_stored_state_or_the_log(
    repo: Path, tmp_path: Path
) -> None:
    job = tmp_path / "spills.js"
    job.write_text(
        """
        fn(state => {
          const { password, token } = state.configuration;
          console.log('configuration:', state.configuration, password);
          console.error(`token=${token}`);
          const process = state.constructor.constructor('return process')();
          process.stdout.write(`stdout ${password}\\n`);
          return { ...state, data: {
            copy: { ...state.configuration },
            url: `https://example.org/?key=${encodeURIComponent(token)}`,
            joined: [password, token].join(':'),
          } };
        });
        """
    )
    configuration = {"password": PASSWORD, "token": "tok/with space&more"}
    code = JobCode(file=str(job), adaptors=(COMMON,), adaptors_path=str(repo))
    with NodeEngine(spares=False).open(code, configuration) as session:
        ok = session.run({"data": {}})
        failed_job = tmp_path / "fails.js"
    assert ok.exit_code == 0, ok.log
    stored = json.dumps(ok.final_state)
    for value in (PASSWORD, "tok/with space&more", "tok%2Fwith%20space%26more"):
        assert value not in stored
        assert value not in ok.log
    assert ok.final_state is not None
    assert ok.final_state["data"]["copy"] == {"password": "***", "token": "***"}
    assert "stdout ***" in ok.log
    failed_job.write_text(
        "fn(state => { throw new Error('denied for ' + state.configuration.password); });\n"
    )
    code = JobCode(file=str(failed_job), adaptors=(COMMON,), adaptors_path=str(repo))
    with NodeEngine(spares=False).open(code, configuration) as session:
        failed = session.run({"data": {}})
    assert failed.exit_code == 1
    assert failed.error == "JobError: denied for ***"
    assert PASSWORD not in failed.log


def test_a_job_cannot_import_a_module_outside_openfns_packages(repo: Path, tmp_path: Path) -> None:
    job = tmp_path / "imports.js"
    job.write_text(
        "import { execSync } from 'child_process';\n"
        "export default [(state) => ({ ...state, data: String(execSync('id')) })];\n"
    )
    code = JobCode(file=str(job), adaptors=(COMMON,), adaptors_path=str(repo))
    with NodeEngine(spares=False).open(code, None) as session:
        result = session.run({"data": {}})
    assert (result.exit_code, result.status) == (5, "crashed")
    assert result.error == "ImportError: module blacklisted: child_process"


def test_a_warm_spare_is_sandboxed_alike_and_no_job_reads_the_spares(
    repo: Path, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node_spares, "IDLE_SECONDS", 30.0)
    monkeypatch.setenv("OPENFN_FAKE_SECRET", FAKE_SECRET)
    job = escape_job("state", folders)
    spares = repo / ".spares"
    job.write_text(
        job.read_text().replace(
            "  } };",
            f"    spares: probe(() => fs.readdirSync({json.dumps(str(spares))})),\n  }} }};",
        )
    )
    # A memory limit of its own keeps this test's spare apart from other tests' and runs'.
    code = JobCode(
        file=str(job),
        adaptors=(COMMON,),
        adaptors_path=str(repo),
        memory_limit_mb=random.randint(2_000, 60_000),
    )
    with NodeEngine().open(code, None) as session:
        folder = session.spares_folder
    deadline = time.monotonic() + 20
    while not node_spares.waiting(folder):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert any(folder.glob("*.key"))
    with NodeEngine().open(code, {"password": PASSWORD}) as session:
        assert session.warm
        result = session.run({"data": {}})
    assert result.exit_code == 0, result.log
    assert result.final_state is not None
    data = result.final_state["data"]
    assert data["env"] == {"PATH": os.environ["PATH"]}
    denied = {"denied": "ERR_ACCESS_DENIED"}
    for probe in ("passwd", "other_job", "write", "exec", "worker", "spares"):
        assert data[probe] == denied, probe
