"""Warm spares: a Node runner started ahead of the next task, its adaptors already imported.

A cold Node process spends most of its start importing the adaptor (language-http: cheerio,
undici, lodash...). So once a task's own runner is ready, it leaves one spare for the same
adaptor set and limits: a runner with nothing job-specific (no job, no credential, environment
``PATH`` only, the same permission flags) that imports the adaptors and waits on a unix socket
in ``<adaptors repo>/.spares/<fingerprint>/``. The next task of that fingerprint claims it (an
exclusive ``flock``, then a challenge only the holder of the spare's key answers, so a socket
someone else bound there gets no credential), uses it for exactly one session and kills it at
the end. An unclaimed spare exits after ``IDLE_SECONDS``.

Per spare ``<id>``: ``.sock`` (listening, renamed into place once ready to be claimed),
``.key`` (0600, the challenge key), ``.pid``, ``.out`` (a FIFO carrying the spare's stdout and
stderr, read by its claimant), ``.lock``. The folder is outside what Node may read.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

#: Whether NodeEngine() sessions use spares unless told otherwise (a test that counts Node
#: processes, or a machine short of memory, turns them off).
ENABLED = True
#: Seconds an unclaimed spare waits before it exits.
IDLE_SECONDS = 300.0
#: Seconds a claimant waits for a spare to prove itself.
CLAIM_TIMEOUT = 2.0
_SUFFIXES = (".sock", ".key", ".pid", ".out", ".lock")
# Blocks until its stdin closes, then kills the group (Python: sh's kill takes no group).
_WATCHDOG = """
import os, signal, sys
while os.read(0, 1):
    pass
try:
    os.killpg(int(sys.argv[1]), signal.SIGKILL)
except OSError:
    pass
"""
# Spares this process started: kept so they are reaped, not reported as leaked.
_spawned: list[subprocess.Popen[bytes]] = []


def folder_for(repo: Path, fingerprint: dict[str, object]) -> Path:
    """Where the spares of one adaptor set and set of limits wait."""
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()
    return Path(repo) / ".spares" / digest[:24]


@dataclass
class Claimed:
    """A spare this task now owns: its connection (requests and answers) and its output."""

    connection: socket.socket
    pid: int
    output: int  # read end of the spare's stdout and stderr


def claim(folder: Path) -> Claimed | None:
    """Take one waiting spare of ``folder`` for this session; None when there is none."""
    try:
        waiting = sorted(folder.glob("*.sock"))
    except OSError:
        return None
    for path in waiting:
        spare = path.stem
        try:
            lock = os.open(folder / f"{spare}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another task is claiming it
            claimed = _claim(folder, spare)
            _forget(folder, spare)  # claimed or dead: nobody else tries it
            if claimed is not None:
                return claimed
        finally:
            os.close(lock)
    return None


def _claim(folder: Path, spare: str) -> Claimed | None:
    connection = None
    output = None
    try:
        key = (folder / f"{spare}.key").read_text().strip()
        pid = int((folder / f"{spare}.pid").read_text())
        if not alive(pid):
            return None
        output = os.open(folder / f"{spare}.out", os.O_RDONLY | os.O_NONBLOCK)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(CLAIM_TIMEOUT)
        connection.connect(str(folder / f"{spare}.sock"))
        nonce = secrets.token_hex(16)
        connection.sendall(json.dumps({"type": "claim", "nonce": nonce}).encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n") and len(answer) < 4096:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
        proven = json.loads(answer)
        expected = hmac.new(key.encode(), nonce.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(str(proven.get("proof", "")), expected):
            raise ValueError("the spare did not prove it holds its key")
        if proven.get("pid") != pid:
            raise ValueError("the spare is not the process that was started")
        connection.setblocking(False)
        return Claimed(connection, pid, output)
    except (OSError, ValueError, AttributeError):
        if connection is not None:
            connection.close()
        if output is not None:
            os.close(output)
        return None


def _forget(folder: Path, spare: str) -> None:
    for suffix in _SUFFIXES:
        with suppress(OSError):
            (folder / f"{spare}{suffix}").unlink()


def waiting(folder: Path) -> int:
    """How many live, unclaimed spares ``folder`` holds (forgetting dead ones)."""
    count = 0
    with suppress(OSError):
        for path in folder.glob("*.sock"):
            spare = path.stem
            try:
                pid = int((folder / f"{spare}.pid").read_text())
            except (OSError, ValueError):
                continue
            if alive(pid):
                count += 1
            else:
                _forget(folder, spare)
    return count


def leave_spare(
    folder: Path,
    command: Callable[[int], list[str]],
    *,
    cwd: Path,
    env: dict[str, str],
) -> int | None:
    """Start a spare in ``folder`` unless one waits there already; return its pid.

    ``command(fd)`` is the runner's command line given the listening socket's descriptor.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.parent.chmod(0o700)
    if waiting(folder):
        return None
    spare = secrets.token_hex(8)
    key = secrets.token_hex(32)
    with open(
        os.open(folder / f"{spare}.key", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w"
    ) as f:
        f.write(key)
    fifo = folder / f"{spare}.out"
    os.mkfifo(fifo, 0o600)
    # Read-write, so the FIFO always has a reader: the spare never blocks or gets EPIPE on it.
    output = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    os.set_blocking(output, True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staged = folder / f"{spare}.sock.new"
    try:
        listener.bind(str(staged))
        listener.listen(1)
        popen = subprocess.Popen(
            command(listener.fileno()),
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=output,
            pass_fds=(listener.fileno(),),
            env=env,
            cwd=cwd,
            # Its own session and no parent-death signal: it outlives this task, idle.
            start_new_session=True,
        )
        assert popen.stdin is not None
        popen.stdin.write(key.encode() + b"\n")
        popen.stdin.close()
        _spawned.append(popen)
        (folder / f"{spare}.pid").write_text(str(popen.pid))
        staged.rename(folder / f"{spare}.sock")  # now claimable
        return popen.pid
    except OSError:
        _forget(folder, spare)
        with suppress(OSError):
            staged.unlink()
        return None
    finally:
        listener.close()
        os.close(output)
        _spawned[:] = [p for p in _spawned if p.poll() is None]


def watchdog(pid: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A process that kills ``pid``'s group once this process's end of its stdin closes.

    A claimed spare is not this task's child, so no parent-death signal covers it: when the
    task dies (even by SIGKILL) the pipe closes and the watchdog kills the spare.
    """
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(pid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # not killed with the task's group before it acts
    )


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
