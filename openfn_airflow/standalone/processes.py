"""Run child processes, each in its own process group with its output in a log file, and stop them all."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36

# Lines worth showing on the terminal when not --verbose: errors, not Airflow's INFO chatter.
_ALARMING = re.compile(r"\b(ERROR|CRITICAL|FATAL|Traceback)\b|\[(error|critical)\s*\]")
_NOISE = re.compile(r"\d{4}-\d\d-\d\d[T ][\d:.,]+\S*|\b\d+\b")


@dataclass
class Child:
    """One supervised process and the log file it writes to."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    shown_offset: int = 0

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def tail(self, lines: int = 20) -> list[str]:
        """The last ``lines`` lines of its log."""
        try:
            with self.log_path.open("rb") as file:
                file.seek(0, os.SEEK_END)
                file.seek(max(0, file.tell() - 64 * 1024))
                text = file.read().decode("utf-8", "replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]


@dataclass
class StopRequest:
    """Set by SIGINT / SIGTERM; a second signal asks to kill at once."""

    count: int = 0
    signals: list[str] = field(default_factory=list)

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1
        self.signals.append(signal.Signals(signum).name)

    @property
    def requested(self) -> bool:
        return self.count > 0

    def install(self) -> None:
        # Installed explicitly: a shell starts background jobs with SIGINT ignored.
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux), so nothing a child leaves behind escapes the final sweep."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def alarm_key(line: str) -> str:
    """A line with its timestamps and numbers removed, so a repeated error is shown once."""
    return _NOISE.sub("#", line).strip()


class Supervisor:
    """Start children in their own process groups, watch them, and stop every one of them."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_dir: Path,
        say: Callable[[str], None],
        *,
        verbose: bool = False,
    ) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.say = say
        self.verbose = verbose
        self.children: list[Child] = []
        self._shown: set[str] = set()
        log_dir.mkdir(parents=True, exist_ok=True)

    def _open_log(self, name: str) -> tuple[Path, int]:
        path = self.log_dir / f"{name}.log"
        if path.exists():  # keep one previous run
            path.replace(path.with_suffix(".log.1"))
        return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def start(self, name: str, argv: Sequence[str]) -> Child:
        """Start ``argv`` in a new session (own process group), output to ``<log_dir>/<name>.log``."""
        path, fd = self._open_log(name)
        try:
            process = subprocess.Popen(
                list(argv),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the terminal's Ctrl-C reaches us only; we stop them
            )
        finally:
            os.close(fd)
        child = Child(name, list(argv), path, process)
        self.children.append(child)
        return child

    def run(self, name: str, argv: Sequence[str], stop: StopRequest) -> int | None:
        """Run ``argv`` to completion like ``start``; None when a stop was requested first."""
        child = self.start(name, argv)
        assert child.process is not None
        while child.process.poll() is None:
            if stop.requested:
                return None
            self.pump()
            time.sleep(0.2)
        self.pump()
        self.children.remove(child)
        return child.process.returncode

    def dead(self) -> list[Child]:
        """Children that exited."""
        return [child for child in self.children if child.exited]

    def pump(self) -> None:
        """Show the new log lines on the terminal: all with --verbose, else errors, each once."""
        for child in self.children:
            try:
                with child.log_path.open("rb") as file:
                    file.seek(child.shown_offset)
                    data = file.read()
            except OSError:
                continue
            end = data.rfind(b"\n") + 1  # a partial last line waits for the next pump
            child.shown_offset += end
            for raw in data[:end].decode("utf-8", "replace").splitlines():
                if self.verbose:
                    self.say(f"[{child.name}] {raw}")
                elif _ALARMING.search(raw):
                    key = f"{child.name} {alarm_key(raw)}"
                    if key not in self._shown:
                        self._shown.add(key)
                        self.say(f"[{child.name}] {raw.strip()[:300]}")
        self._reap_orphans()

    def _reap_orphans(self) -> None:
        """Collect adopted descendants that exited (as subreaper they become our zombies)."""
        own = {child.process.pid for child in self.children if child.process}
        for pid in _child_pids(os.getpid()):
            if pid not in own:
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)

    def stop(self, timeout: float = 20.0, force: Callable[[], bool] = lambda: False) -> None:
        """SIGTERM every child's process group, wait up to ``timeout``, then SIGKILL what is left."""
        for child in self.children:
            if _group_alive(child):  # also a dead child's group: what it forked may live on
                _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not force():
            if not any(_group_alive(child) for child in self.children):
                break
            self._reap_orphans()
            time.sleep(0.2)
        for child in self.children:
            if _group_alive(child):
                self.say(f"{child.name} did not stop in time: killing it")
                _signal_group(child, signal.SIGKILL)
        for child in self.children:
            if child.process:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(timeout=5)
        self._sweep()

    def _sweep(self) -> None:
        """Kill descendants that left their group (task processes) and outlived their parents."""
        for sig, pause in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 1.0)):
            strays = _descendants(os.getpid())
            if not strays:
                return
            self.say(f"stopping {len(strays)} leftover process(es) with {sig.name}")
            for pid in strays:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            end = time.monotonic() + pause
            while time.monotonic() < end and _descendants(os.getpid()):
                self._reap_orphans()
                time.sleep(0.1)
            self._reap_orphans()


def _signal_group(child: Child, sig: signal.Signals) -> None:
    assert child.process is not None
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, sig)


def _group_alive(child: Child) -> bool:
    """Whether any process of the child's group still runs (the leader included, unreaped)."""
    if child.process is None:
        return False
    child.process.poll()
    if child.process.returncode is None:
        return True
    try:
        os.killpg(child.process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Only zombies may be left: they are adopted orphans waiting to be reaped.
    return any(not _is_zombie(pid) for pid in _group_members(child.process.pid))


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgid) of ``pid`` from /proc, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2])


def _all_stats() -> dict[int, tuple[str, int, int]]:
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))):
            stats[int(entry)] = stat
    return stats


def _is_zombie(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is None or stat[0] == "Z"


def _group_members(pgid: int) -> list[int]:
    return [pid for pid, (_, _, group) in _all_stats().items() if group == pgid]


def _child_pids(parent: int) -> list[int]:
    return [pid for pid, (_, ppid, _) in _all_stats().items() if ppid == parent]


def _descendants(root: int) -> list[int]:
    """Live (non-zombie) descendants of ``root``."""
    stats = _all_stats()
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if stats[pid][0] != "Z":
            found.append(pid)
        todo.extend(children.get(pid, []))
    return found
