"""Warm spares: the next task of an adaptor set finds a Node runner with its adaptors imported.

Each session leaves one spare (nothing job-specific in it) that the next session of the same
adaptors and limits claims, uses for that session only and kills; unclaimed, it exits alone.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from adaptors import adaptors_repo

from openfn_airflow.runtime import node_spares
from openfn_airflow.runtime.engines import JobCode
from openfn_airflow.runtime.node import NodeEngine

JOBS = Path(__file__).parent / "js_jobs"
HTTP = "@openfn/language-http@7.2.10"
COMMON = "@openfn/language-common@3.3.4"
PASSWORD = "spare-test-password-77"


@pytest.fixture(scope="module")
def repo() -> Path:
    return adaptors_repo()


@pytest.fixture(autouse=True)
def short_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_spares, "IDLE_SECONDS", 30.0)


def code_for(repo: Path, job: str, adaptor: str, **options: object) -> JobCode:
    # The memory limit is part of what a spare must share: a value of its own keeps this
    # test's spares apart from other tests' and earlier runs' (and from real tasks).
    return JobCode(
        file=str(JOBS / job),
        adaptors=(adaptor,),
        adaptors_path=str(repo),
        memory_limit_mb=random.randint(2_000, 60_000),
        **options,  # type: ignore[arg-type]
    )


def wait_for_spare(folder: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while node_spares.waiting(folder) == 0:
        assert time.monotonic() < deadline, "no spare was left"
        time.sleep(0.05)
    time.sleep(1.5)  # its adaptor imports


def first_result(code: JobCode, engine: NodeEngine) -> tuple[float, bool, int, int]:
    started = time.perf_counter()
    with engine.open(code, {"password": PASSWORD}) as session:
        result = session.run({"data": {}})
        took = time.perf_counter() - started
        assert result.exit_code == 0, result.log
        assert session.pid is not None
        return took, session.warm, session.pid, result.final_state["data"]["pid"]  # type: ignore[index]


def test_the_next_session_starts_on_the_spare_the_last_one_left(repo: Path) -> None:
    code = code_for(repo, "loop_when_asked.js", HTTP)
    cold, was_warm, _, _ = first_result(code, NodeEngine(spares=False))
    assert not was_warm
    with NodeEngine().open(code, None) as session:  # leaves a spare for the next session
        folder = session.spares_folder
    wait_for_spare(folder)
    warm, was_warm, pid, job_pid = first_result(code, NodeEngine())
    assert was_warm
    assert job_pid == pid  # the run happened in the claimed spare
    assert not node_spares.alive(pid)  # used for this one session, then killed
    assert warm < cold / 2, f"warm {warm * 1000:.0f} ms, cold {cold * 1000:.0f} ms"


def test_a_spare_serves_one_session_and_is_replaced(repo: Path) -> None:
    code = code_for(repo, "loop_when_asked.js", COMMON)
    engine = NodeEngine()
    with engine.open(code, None) as session:
        folder = session.spares_folder
    wait_for_spare(folder)
    spare_pids = {int(p.read_text()) for p in folder.glob("*.pid")}
    with engine.open(code, None) as session:
        assert session.warm and session.pid in spare_pids
        first = session.run({"data": {}})
        second = session.run({"data": {}})
        left = {int(p.read_text()) for p in folder.glob("*.pid")}
    assert (
        first.final_state == second.final_state == {"data": {"pid": session.pid}, "references": []}
    )
    assert session.pid not in left  # the claimed spare's files are gone; a new spare waits
    assert len(left) == 1


def test_an_unclaimed_spare_exits_when_idle(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_spares, "IDLE_SECONDS", 1.0)
    code = code_for(repo, "loop_when_asked.js", COMMON)
    with NodeEngine().open(code, None) as session:
        folder = session.spares_folder
    deadline = time.monotonic() + 10
    while not list(folder.glob("*.pid")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (pid_file,) = folder.glob("*.pid")
    pid = int(pid_file.read_text())
    while node_spares.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not node_spares.alive(pid)
    assert node_spares.waiting(folder) == 0


def test_a_timeout_on_a_warm_session_kills_it_and_the_session_goes_on(repo: Path) -> None:
    code = code_for(repo, "loop_when_asked.js", COMMON, timeout=1.0)
    engine = NodeEngine()
    with engine.open(code, None) as session:
        folder = session.spares_folder
    wait_for_spare(folder)
    with engine.open(code, None) as session:
        assert session.warm
        spare = session.pid
        looped = session.run({"data": {"loop": True}})
        after = session.run({"data": {}})
    assert (looped.exit_code, looped.status) == (2, "killed")
    assert spare is not None and not node_spares.alive(spare)
    assert after.exit_code == 0


class FakeSpare:
    """A socket bound in the spares folder by someone without the spare's key."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.received = b""
        (folder / "fake.pid").write_text(str(os.getpid()))
        (folder / "fake.key").write_text("not-the-key-of-whoever-answers")
        os.mkfifo(folder / "fake.out")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(folder / "fake.sock"))
        self.listener.listen(1)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.settimeout(3)
            self.received += connection.recv(65536)
            connection.sendall(
                json.dumps({"type": "claimed", "proof": "0" * 64, "pid": os.getpid()}).encode()
                + b"\n"
            )
            try:
                while chunk := connection.recv(65536):
                    self.received += chunk
            except OSError:
                pass


def test_a_socket_that_cannot_prove_the_key_gets_no_credential(repo: Path) -> None:
    code = code_for(repo, "loop_when_asked.js", COMMON)
    with NodeEngine(spares=False).open(code, None) as probe:
        folder = probe.spares_folder
    fake = FakeSpare(folder)
    with NodeEngine().open(code, {"password": PASSWORD}) as session:
        assert not session.warm
        result = session.run({"data": {}})
    assert result.exit_code == 0
    assert b'"type": "claim"' in fake.received
    assert PASSWORD.encode() not in fake.received
    assert b"open" not in fake.received
    assert not (folder / "fake.sock").exists()


def test_a_claimed_spare_dies_when_its_task_is_killed(repo: Path) -> None:
    code = code_for(repo, "loop_when_asked.js", COMMON)
    script = textwrap.dedent(
        f"""
        import time
        from openfn_airflow.runtime import node_spares
        from openfn_airflow.runtime.engines import JobCode
        from openfn_airflow.runtime.node import NodeEngine
        node_spares.IDLE_SECONDS = 5
        code = JobCode(file={code.file!r}, adaptors={code.adaptors!r},
                       adaptors_path={code.adaptors_path!r}, memory_limit_mb={code.memory_limit_mb!r})
        with NodeEngine().open(code, None) as session:
            folder = session.spares_folder
        while not node_spares.waiting(folder):
            time.sleep(0.05)
        with NodeEngine().open(code, None) as session:
            print(session.warm, session.pid, flush=True)
            session.run({{"data": {{"loop": True}}}})
        """
    )
    task = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[3],
    )
    try:
        assert task.stdout is not None
        warm, pid = task.stdout.readline().split()
        assert warm == "True"
        time.sleep(0.3)
        task.send_signal(signal.SIGKILL)
        task.wait(timeout=10)
        deadline = time.monotonic() + 10
        while node_spares.alive(int(pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not node_spares.alive(int(pid))
    finally:
        task.kill()
        task.wait()
