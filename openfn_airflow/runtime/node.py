"""The JavaScript engine: one Node process per job task runs the job on OpenFn's runtime.

``NodeEngine().open(code, configuration)`` starts ``js/runner.mjs`` once for the session (one
Airflow task); each ``session.run(state)`` is one ``@openfn/runtime`` run in a fresh vm context
of that process. Python holds the hard limits: the job's timeout kills the process group (the
next run of a batched session gets a new process), ``--max-old-space-size`` bounds its heap, and
the process gets no ambient authority: an environment of ``PATH`` only, the credential on stdin
only, Node's permission model reading only the runner's and the adaptors' folders (no writes, no
child processes, no workers), and it dies with the task (its own process group, killed on
close, plus a parent-death signal and an exit when its stdin closes).

The runner answers on a pipe of its own, not stdout (a job can reach stdout through the known
``vm`` escapes), each line carrying a token only the runner's module scope holds.
"""

from __future__ import annotations

import ctypes
import hmac
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import adaptors_repo, node_spares
from .console import Console
from .engines import CouldNotStart, JobCode
from .execution import RunResult
from .exit_codes import ExitCode, status_for
from .redaction import redact, secret_values
from .state import final_state, initial_state

JS_DIR = Path(__file__).resolve().parent / "js"
RUNNER = JS_DIR / "runner.mjs"
RUNTIME_PACKAGE = JS_DIR / "node_modules" / "@openfn" / "runtime" / "package.json"
MIN_NODE_MAJOR = 20
#: Seconds a new Node process may take to import its adaptors and compile the job.
STARTUP_TIMEOUT = 120.0
#: What Node's heap holds before the job does anything (runtime, compiler, an adaptor such as
#: language-http): the job's ``memory_limit_mb`` comes on top, as for Python jobs.
BASE_HEAP_MB = 96
_OPENED = {"ready", "compile-error", "could-not-start"}
_STDERR_TAIL = 4000
_ERROR_CHARS = 500
_OOM = re.compile(r"heap out of memory|Reached heap limit|Allocation failed", re.IGNORECASE)
NODE_HINT = (
    "Install Node.js 20 or newer (Debian: apt-get install nodejs npm) so that `node` is on PATH"
)


@lru_cache(maxsize=8)
def _node_version(executable: str) -> str:
    done = subprocess.run(
        [executable, "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        check=False,
    )
    return done.stdout.strip()


def node_executable() -> str:
    """The ``node`` on PATH; ``CouldNotStart`` naming Node 20 when there is none."""
    executable = shutil.which("node")
    if executable is None:
        raise CouldNotStart(
            f"JavaScript jobs need Node.js {MIN_NODE_MAJOR} or newer, and there is no `node` on"
            f" PATH. {NODE_HINT}"
        )
    return executable


def check_node(executable: str, version: str | None = None) -> str:
    """Return the version of ``executable`` (``v20.20.2``); ``CouldNotStart`` if older than 20.

    ``version`` is what the runner reported; without it ``node --version`` is asked (slower:
    done only when a runner did not start, to say why).
    """
    if version is None:
        try:
            version = _node_version(executable)
        except (OSError, subprocess.SubprocessError) as error:
            raise CouldNotStart(
                f"JavaScript jobs need Node.js {MIN_NODE_MAJOR} or newer; {executable} --version"
                f" failed ({error}). {NODE_HINT}"
            ) from error
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match[1]) < MIN_NODE_MAJOR:
        raise CouldNotStart(
            f"JavaScript jobs need Node.js {MIN_NODE_MAJOR} or newer; {executable} is"
            f" {version or 'of unknown version'}. {NODE_HINT}"
        )
    return version


def runtime_version() -> str:
    """The installed ``@openfn/runtime`` version; ``CouldNotStart`` when ``npm ci`` never ran."""
    try:
        return str(json.loads(RUNTIME_PACKAGE.read_text())["version"])
    except (OSError, ValueError, KeyError) as error:
        raise CouldNotStart(
            f"OpenFn's runtime is not installed in {JS_DIR / 'node_modules'}: run"
            f" `npm ci --prefix {JS_DIR}` (make run and make test do)"
        ) from error


def ran_with(node_version: str, adaptors: tuple[str, ...]) -> str:
    """``Node v20.20.2, @openfn/runtime 1.9.5, @openfn/language-http@7.2.10``."""
    return ", ".join([f"Node {node_version}", f"@openfn/runtime {runtime_version()}", *adaptors])


def readable_paths(code: JobCode) -> list[str]:
    """What the runner may read: its own folder and the adaptors (not the spares beside them)."""
    assert code.adaptors_path is not None
    repo = Path(code.adaptors_path).resolve()
    return sorted({str(JS_DIR), str(repo / "node_modules"), str(repo / "package.json")})


def node_command(executable: str, code: JobCode, *arguments: str) -> list[str]:
    """How the runner is started: permissions, heap limit, then ``arguments`` for runner.mjs."""
    command = [
        executable,
        "--experimental-vm-modules",  # the runtime's vm.SourceTextModule
        "--experimental-permission",
        *(f"--allow-fs-read={path}" for path in readable_paths(code)),
        "--disable-warning=ExperimentalWarning",
    ]
    if code.memory_limit_mb:
        command.append(f"--max-old-space-size={BASE_HEAP_MB + int(code.memory_limit_mb)}")
    return [*command, str(RUNNER), *arguments]


def _environment() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def _die_with_parent() -> None:
    # In the child, before exec: SIGKILL when the task process dies, however it dies (a killed
    # task never closes the session; the process group keeps Node out of Airflow's kill).
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


class _StartFailed(Exception):
    def __init__(self, exit_code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class _Process:
    """One runner this session owns: where requests go, where answers and output come from."""

    pid: int  # also its process group
    writer: int
    reader: int  # the writer itself for a claimed spare's socket
    outputs: dict[int, str]  # other descriptors read: "stdout" or "stderr"
    popen: subprocess.Popen[bytes] | None = None  # a runner this session started
    watchdog: subprocess.Popen[bytes] | None = None  # kills a claimed spare if the task dies
    connection: socket.socket | None = None
    descriptors: list[int] = field(default_factory=list)  # closed with the process
    buffer: bytes = b""
    stderr_tail: str = ""
    said_exit: int | None = None  # the code the runner said it exits with

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return node_spares.alive(self.pid)

    def returncode(self) -> int | None:
        if self.popen is not None:
            try:
                return self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                return None
        return self.said_exit

    def kill(self) -> None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # the runner and anything it started
        if self.popen is None:  # a claimed spare, not our child: wait until it is gone
            deadline = time.monotonic() + 5
            while node_spares.alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.005)
        if self.watchdog is not None:
            self.watchdog.kill()
            self.watchdog.wait()
            if self.watchdog.stdin is not None:
                self.watchdog.stdin.close()
        if self.popen is not None:
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=10)
            for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
                with suppress(OSError):
                    if stream is not None:
                        stream.close()
        if self.connection is not None:
            self.connection.close()
        for fd in self.descriptors:
            with suppress(OSError):
                os.close(fd)


class NodeSession:
    """One job task's Node process; ``run`` is one OpenFn run on it, never raises."""

    def __init__(
        self, code: JobCode, configuration: dict[str, Any] | None, *, spares: bool = True
    ) -> None:
        if code.adaptors_path is None:
            raise CouldNotStart(
                "JavaScript jobs need an adaptors repository: set [openfn] adaptors_path, then run"
                " `openfn-airflow adaptors install PROJECT`"
            )
        missing = adaptors_repo.missing(Path(code.adaptors_path), code.adaptors)
        if missing:
            raise CouldNotStart(
                f"The adaptor {', '.join(missing)} is not installed in {code.adaptors_path}:"
                " run `openfn-airflow adaptors install PROJECT` (PROJECT: this job's project)"
            )
        self.executable = node_executable()
        #: Set from what the runner reports once it started.
        self.node_version = ""
        self.ran_with = ""
        self.code = code
        self.configuration = configuration
        #: Whether the last runner started was a warm spare (claimed) rather than a cold one.
        self.warm = False
        #: The pid of the runner now, if any.
        self.pid: int | None = None
        #: Where the warm spares of this adaptor set and these limits wait.
        self.spares_folder = node_spares.folder_for(Path(code.adaptors_path), self._fingerprint())
        self._use_spares = spares
        self._secrets = secret_values(configuration) if configuration else []
        self._process: _Process | None = None
        self._token = ""
        self._runs = 0
        self._load_error: list[str] | None = None
        try:
            self._source = Path(code.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self._load_error = [f"The job file {code.file} cannot be read: {error}"]
            self._set_version(check_node(self.executable))
            return
        try:
            self._start()
        except _StartFailed as error:
            if error.exit_code != ExitCode.LOAD_ERROR:
                raise CouldNotStart(str(error)) from error

    def _set_version(self, version: str) -> None:
        self.node_version = version
        self.ran_with = ran_with(version, self.code.adaptors)

    def _fingerprint(self) -> dict[str, object]:
        # What a spare must share with this session to stand in for its own runner.
        code_files = sorted(JS_DIR.glob("*.mjs"))
        executable = Path(self.executable).resolve()
        binary = executable.stat()
        return {
            "node": [str(executable), binary.st_mtime_ns, binary.st_size],
            "runner": [[str(f), f.stat().st_mtime_ns, f.stat().st_size] for f in code_files],
            "adaptors": list(self.code.adaptors),
            "memory_limit_mb": self.code.memory_limit_mb,
            "readable": readable_paths(self.code),
        }

    # -- the process -----------------------------------------------------------------------

    def _spawn(self) -> _Process:
        read_end, write_end = os.pipe()
        try:
            popen = subprocess.Popen(
                node_command(self.executable, self.code, str(write_end)),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(write_end,),
                env=_environment(),
                cwd=JS_DIR,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl and getppid
            )
        except OSError as error:
            os.close(read_end)
            raise _StartFailed(
                ExitCode.COULD_NOT_START, f"Node could not be started: {error}"
            ) from error
        finally:
            os.close(write_end)
        assert popen.stdin and popen.stdout and popen.stderr
        outputs = {popen.stdout.fileno(): "stdout", popen.stderr.fileno(): "stderr"}
        for fd in (read_end, popen.stdin.fileno(), *outputs):
            os.set_blocking(fd, False)
        return _Process(
            popen.pid,
            writer=popen.stdin.fileno(),
            reader=read_end,
            outputs=outputs,
            popen=popen,
            descriptors=[read_end],
        )

    def _claim(self) -> _Process | None:
        claimed = node_spares.claim(self.spares_folder)
        if claimed is None:
            return None
        guard = node_spares.watchdog(claimed.pid, _environment())
        fd = claimed.connection.fileno()
        return _Process(
            claimed.pid,
            writer=fd,
            reader=fd,
            outputs={claimed.output: "stderr"},
            watchdog=guard,
            connection=claimed.connection,
            descriptors=[claimed.output],
        )

    def _start(self) -> None:
        """Get a runner (a warm spare, else a new one) with the job compiled; else _StartFailed."""
        process = self._claim() if self._use_spares else None
        self.warm = process is not None
        self._process = process or self._spawn()
        self.pid = self._process.pid
        self._token = secrets.token_hex(16)
        opening = {
            "type": "open",
            "token": self._token,
            "name": Path(self.code.file).stem or "job",
            "source": self._source,
            "adaptors": list(self.code.adaptors),
            "repo": str(Path(str(self.code.adaptors_path)).resolve()),
            "console": self.code.console,
            "testMode": self.code.test_mode,
            "configuration": self.configuration,
        }
        ended = self._exchange(opening, None, time.monotonic() + STARTUP_TIMEOUT, _OPENED)
        message = ended.message
        if message is not None and isinstance(message.get("node"), str):
            self._set_version(check_node(self.executable, message["node"]))
        if message is not None and message["type"] == "ready":
            if self._use_spares:
                self._leave_spare()
            return
        self._stop()
        if message is None:
            self._set_version(check_node(self.executable))  # an old Node fails here, clearly
        if message is not None and message["type"] == "compile-error":
            self._load_error = [
                f"Compile error in {Path(self.code.file).name}: {message.get('message')}",
                *message.get("lines", []),
            ]
            raise _StartFailed(ExitCode.LOAD_ERROR, self._load_error[0])
        if message is not None and message["type"] == "could-not-start":
            raise _StartFailed(ExitCode.COULD_NOT_START, str(message.get("message")))
        detail = ended.describe(self.code.memory_limit_mb)
        said = ended.stderr.strip().splitlines()[-8:]
        raise _StartFailed(
            ended.exit_code or ExitCode.UNEXPECTED,
            "\n".join([f"Node did not start: {detail}", *said]),
        )

    def _leave_spare(self) -> None:
        # For the next task of this adaptor set; a failure here costs that task a cold start.
        repo = str(Path(str(self.code.adaptors_path)).resolve())
        idle = f"{node_spares.IDLE_SECONDS:g}"
        with suppress(OSError):
            node_spares.leave_spare(
                self.spares_folder,
                lambda fd: node_command(
                    self.executable, self.code, "--spare", str(fd), idle, repo, *self.code.adaptors
                ),
                cwd=JS_DIR,
                env=_environment(),
            )

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()

    def close(self) -> None:
        """End the Node process (and anything it started)."""
        self._stop()

    # -- talking to it -----------------------------------------------------------------------

    def _exchange(
        self,
        request: dict[str, Any],
        log: Console | None,
        deadline: float | None,
        final: set[str],
    ) -> _Ended:
        """Send ``request``, then read until a message of a ``final`` type, the deadline or EOF."""
        process = self._process
        assert process is not None
        pending = (json.dumps(request) + "\n").encode()
        stderr: list[str] = []
        ended = self._read(process, request.get("id"), log, deadline, final, pending, stderr)
        ended.stderr = "".join(stderr)
        return ended

    def _read(
        self,
        process: _Process,
        run_id: int | None,
        log: Console | None,
        deadline: float | None,
        final: set[str],
        pending: bytes,
        stderr: list[str],
    ) -> _Ended:
        reads = {process.reader: "protocol", **process.outputs}
        poller = select.poll()
        masks: dict[int, int] = {}
        while True:
            wanted = {fd: select.POLLIN for fd in reads}
            if pending:
                wanted[process.writer] = wanted.get(process.writer, 0) | select.POLLOUT
            for fd in set(masks) - set(wanted):
                poller.unregister(fd)
            for fd, mask in wanted.items():
                if masks.get(fd) != mask:
                    poller.register(fd, mask)
            masks = wanted
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return _Ended(timed_out=True)
            events = poller.poll(None if wait is None else int(wait * 1000) + 1)
            for fd, event in events:
                if fd == process.writer and pending and event & (select.POLLOUT | select.POLLERR):
                    try:
                        pending = pending[os.write(fd, pending) :]
                    except BlockingIOError:
                        pass
                    except OSError:  # the runner is gone: reading says how
                        pending = b""
                if fd not in reads or not event & (select.POLLIN | select.POLLHUP | select.POLLERR):
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                name = reads[fd]
                if not chunk:
                    if name == "protocol":
                        return self._ended(process, stderr)
                    del reads[fd]
                elif name == "protocol":
                    for message in self._messages(process, chunk, log):
                        kind = message.get("type")
                        if kind == "log":
                            if log is not None and message.get("run") == run_id:
                                _log_line(log, message)
                        elif kind == "exit":
                            process.said_exit = message.get("code")
                        elif kind in final:
                            # What the runner wrote to its other descriptors before this answer
                            # is in their pipes already: it belongs to this run.
                            for other, output in list(reads.items()):
                                if output != "protocol":
                                    self._drain(process, other, output, log, stderr)
                            return _Ended(message=message)
                else:
                    self._output(process, name, chunk, log, stderr)

    def _output(
        self, process: _Process, name: str, chunk: bytes, log: Console | None, stderr: list[str]
    ) -> None:
        if name == "stdout":
            # Only a job writing to the descriptor itself gets here (the runner routes
            # process.stdout): it is the job's output.
            if log is not None:
                log.write("stdout", chunk.decode("utf-8", "replace"))
        else:
            self._stderr(process, chunk, stderr)

    def _drain(
        self, process: _Process, fd: int, name: str, log: Console | None, stderr: list[str]
    ) -> None:
        with suppress(OSError):
            while chunk := os.read(fd, 65536):
                self._output(process, name, chunk, log, stderr)

    @staticmethod
    def _stderr(process: _Process, chunk: bytes, stderr: list[str]) -> None:
        text = chunk.decode("utf-8", "replace")
        process.stderr_tail = (process.stderr_tail + text)[-_STDERR_TAIL:]
        stderr.append(text)

    def _messages(
        self, process: _Process, chunk: bytes, log: Console | None
    ) -> Iterator[dict[str, Any]]:
        *lines, process.buffer = (process.buffer + chunk).split(b"\n")
        for line in lines:
            try:
                message = json.loads(line)
                genuine = isinstance(message, dict) and hmac.compare_digest(
                    str(message.get("token", "")), self._token
                )
            except ValueError:
                genuine = False
            if not genuine:
                if log is not None:
                    log.runtime(
                        "Ignored a line on the runner's channel that the runner did not write"
                    )
                continue
            yield message

    def _ended(self, process: _Process, stderr: list[str]) -> _Ended:
        # The runner's answers ended: it is gone. Its last words (a fatal error) come after.
        returncode = process.returncode()
        for fd, name in process.outputs.items():
            if name == "stderr":
                self._drain(process, fd, name, None, stderr)
        return _Ended(returncode=returncode)

    # -- one run -------------------------------------------------------------------------------

    def run(self, state: dict[str, Any] | None) -> RunResult:
        """Run the job once on ``state`` (without ``configuration``); never raises."""
        started = time.perf_counter()
        log = Console(job_output=self.code.console, secrets=self._secrets)
        try:
            return self._run(state, log, started)
        except Exception as error:  # the engine itself failed, not the job
            self._stop()
            message = f"Unexpected runtime error: {type(error).__name__}: {error}"
            return self._result(log, ExitCode.UNEXPECTED, started, error=message)

    def _run(self, state: dict[str, Any] | None, log: Console, started: float) -> RunResult:
        if self._load_error is not None:
            log.runtime("\n".join(self._load_error))
            log.runtime("Job failed to load (exit 10)")
            return self._result(log, ExitCode.LOAD_ERROR, started, error=self._load_error[0])
        if self._process is None or not self._process.alive():
            self._stop()
            try:
                self._start()
            except _StartFailed as error:
                log.runtime(str(error))
                return self._result(log, error.exit_code, started, error=str(error))
            except CouldNotStart as error:
                log.runtime(str(error))
                return self._result(log, ExitCode.COULD_NOT_START, started, error=str(error))
        self._runs += 1
        request = {"type": "run", "id": self._runs, "state": initial_state(state, None)}
        timeout = self.code.timeout
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0)
        ended = self._exchange(request, log, deadline, {"result"})
        _log_stderr(log, ended)
        if ended.timed_out:
            self._stop()
            log.close_job_output()
            message = f"Timed out after {timeout:g} s"
            log.runtime(f"{message}: the job was stopped\nJob killed (exit 2)")
            return self._result(log, ExitCode.TIMEOUT, started, error=message)
        result = ended.message
        if result is None:
            self._stop()
            log.close_job_output()
            exit_code = ended.exit_code or ExitCode.UNEXPECTED
            message = ended.describe(self.code.memory_limit_mb)
            log.runtime(f"{message}\nJob killed (exit {int(exit_code)})")
            return self._result(log, exit_code, started, error=message)
        if result.get("exiting"):
            self._stop()  # the runner does not go on after an uncaught error
        log.close_job_output()
        outcome = result.get("outcome")
        if outcome == "success":
            try:
                kept = redact(final_state(result.get("state") or {}), log.mask)
            except ValueError as problem:
                message = f"The final state cannot be saved as JSON: {problem}"
                log.runtime(f"{message}\nJob failed (exit 1)")
                return self._result(log, ExitCode.JOB_ERROR, started, error=message)
            log.runtime(f"Job succeeded ({(time.perf_counter() - started) * 1000:.0f} ms)")
            return self._result(log, ExitCode.SUCCESS, started, state=kept)
        said = str(result.get("error") or outcome)
        if outcome == "fail":
            log.runtime("Job failed (exit 1)")
            return self._result(log, ExitCode.JOB_ERROR, started, error=said)
        log.runtime(f"Job crashed ({outcome}, exit 5)")
        return self._result(log, ExitCode.UNEXPECTED, started, error=said)

    def _result(
        self,
        log: Console,
        exit_code: ExitCode,
        started: float,
        *,
        error: str | None = None,
        state: dict[str, Any] | None = None,
    ) -> RunResult:
        return RunResult(
            exit_code=int(exit_code),
            status=status_for(exit_code),
            # Added after masking: a short credential (a login such as "openfn") must not mask
            # the versions that ran the job.
            log=f"Ran with {self.ran_with}\n{log.text()}",
            final_state=state,
            error=_one_line(log.mask(error)) if error else None,
            duration=time.perf_counter() - started,
        )


@dataclass
class _Ended:
    """How waiting on the runner ended: a message, the deadline, or the process gone."""

    message: dict[str, Any] | None = None
    timed_out: bool = False
    returncode: int | None = None
    stderr: str = ""

    @property
    def out_of_memory(self) -> bool:
        return bool(_OOM.search(self.stderr)) or self.returncode in (-signal.SIGABRT, 134)

    @property
    def exit_code(self) -> ExitCode | None:
        if self.message is not None or self.timed_out:
            return None
        return ExitCode.OUT_OF_MEMORY if self.out_of_memory else ExitCode.UNEXPECTED

    def describe(self, memory_limit_mb: int | None) -> str:
        if self.out_of_memory:
            limit = f" of {memory_limit_mb} MB" if memory_limit_mb else ""
            return f"Out of memory: the job used more than its limit{limit} and was stopped"
        if self.returncode is not None and self.returncode < 0:
            how = f"was killed by signal {signal.Signals(-self.returncode).name}"
        elif self.returncode is not None:
            how = f"exited with code {self.returncode}"
        else:
            how = "stopped answering"
        return f"The Node process {how} before the run finished"


def _log_stderr(log: Console, ended: _Ended) -> None:
    # Node's own words (a warning, a fatal error). Out of memory, V8's GC trace and native stack
    # say nothing to the job's author: its one FATAL line does.
    lines = ended.stderr.rstrip().splitlines()
    if ended.out_of_memory:
        lines = [line for line in lines if "FATAL ERROR" in line]
    for line in lines:
        if line.strip():
            log.runtime(line.rstrip())


def _log_line(log: Console, message: dict[str, Any]) -> None:
    line = str(message.get("line", ""))
    if message.get("kind") == "job":
        log.job(line)
    else:
        log.runtime(line)


def _one_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= _ERROR_CHARS else line[: _ERROR_CHARS - 3] + "..."


class NodeEngine:
    """JavaScript job files, run on ``@openfn/runtime`` in a Node process the task owns."""

    def __init__(self, *, spares: bool | None = None) -> None:
        #: Whether sessions claim and leave warm spares (node_spares); off, every start is cold.
        #: None: ``node_spares.ENABLED``.
        self.spares = node_spares.ENABLED if spares is None else spares

    @contextmanager
    def open(self, code: JobCode, configuration: dict[str, Any] | None) -> Iterator[NodeSession]:
        session = NodeSession(code, configuration, spares=self.spares)
        try:
            yield session
        finally:
            session.close()
