"""Run a job: fold its operations over state and report how it went as a ``RunResult``."""

from __future__ import annotations

import os
import sysconfig
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .console import Console, capture
from .exit_codes import ExitCode, status_for
from .job_files import JobLoadError, checked_operations, load_job
from .memory import memory_limit
from .redaction import redact, secret_values
from .run_context import RunContext, call, entered
from .state import Operation, State, final_state, initial_state
from .timeouts import call_with_timeout

if TYPE_CHECKING:
    import httpx

_ERROR_CHARS = 500
_TRACEBACK_FRAMES = 8


@dataclass
class RunResult:
    """How one run ended; ``log`` and ``final_state`` are what the ledger keeps."""

    exit_code: int
    status: str  # success | failed | killed | crashed
    log: str
    # Without "configuration", its values masked wherever the job put them; None unless the
    # job finished.
    final_state: dict[str, Any] | None
    error: str | None  # one line, for failures
    duration: float  # seconds


@dataclass
class _Outcome:
    exit_code: ExitCode
    state: State | None = None
    error: str | None = None


def run_job(
    job: str | Path | list[Operation],
    state: dict[str, Any] | None,
    *,
    configuration: dict[str, Any] | None = None,
    timeout: float | None = None,
    memory_limit_mb: int | None = None,
    console: bool = True,
    test_mode: bool = False,
    transport: httpx.BaseTransport | None = None,
    echo: Callable[[str], None] | None = None,
) -> RunResult:
    """Run a job file (or a list of operations) on ``state``; never raises.

    ``configuration`` (the credential) is added to the state the job sees; its strings are
    masked (``***``) in the log and, at any depth and inside longer strings, in the final state. ``timeout`` in seconds stops the job (exit 2); so does using more than ``memory_limit_mb``
    MB of memory beyond what the process held when the job started (exit 134). ``console=False`` keeps everything the
    job prints out of the log and ``echo``; runtime lines (HTTP, errors, outcome) still show.
    ``test_mode`` answers every HTTP request with 200 ``{}`` without sending it; ``transport``
    replaces the network (tests). ``echo`` receives each log line as it is written.
    The caller's nested state objects are shared with the job, not copied.
    """
    started = time.perf_counter()
    try:
        log = Console(
            job_output=console,
            secrets=secret_values(configuration) if configuration else None,
            echo=echo,
        )
    except Exception as error:  # no log to write to yet; the message may hold secrets
        message = f"Unexpected runtime error: {type(error).__name__} while preparing the run"
        return RunResult(5, status_for(5), message, None, message, time.perf_counter() - started)
    context = RunContext(console=log, test_mode=test_mode, transport=transport)
    try:
        first_state = initial_state(state, configuration)
        with entered(context), capture(log), memory_limit(memory_limit_mb):
            timed_out, outcome = call_with_timeout(
                lambda: _execute(job, first_state, context, log, memory_limit_mb), timeout
            )
        context.cancelled = timed_out  # an abandoned worker may still be running the job
        log.close_job_output()
        if timed_out or outcome is None:
            message = f"Timed out after {timeout:g} s"
            log.runtime(message)
            outcome = _Outcome(ExitCode.TIMEOUT, error=message)
        elif outcome.exit_code == ExitCode.SUCCESS:
            outcome = _finish(outcome, log, started)
    except Exception as error:  # the runtime itself failed, not the job
        log.close_job_output()
        message = f"Unexpected runtime error: {type(error).__name__}: {error}"
        log.runtime(message + "\n" + traceback.format_exc().rstrip())
        outcome = _Outcome(ExitCode.UNEXPECTED, error=message)
    finally:
        context.close()
    return RunResult(
        exit_code=int(outcome.exit_code),
        status=status_for(outcome.exit_code),
        log=log.text(),
        final_state=outcome.state,
        error=_one_line(log.mask(outcome.error)) if outcome.error else None,
        duration=time.perf_counter() - started,
    )


def _execute(
    job: str | Path | list[Operation],
    state: State,
    context: RunContext,
    log: Console,
    memory_limit_mb: int | None = None,
) -> _Outcome:
    # Runs under the timeout (in this thread or a worker): load, then fold the operations.
    position, count, operation = 0, 0, None
    try:
        operations = checked_operations(job) if isinstance(job, list) else load_job(job)
        count = len(operations)
        for position, operation in enumerate(operations, 1):  # noqa: B007 - read on failure
            result = call(operation, state)
            if not isinstance(result, dict):
                raise TypeError(
                    f"the operation returned {type(result).__name__}, not the state (a dict);"
                    " an operation must return the next state (a fn() missing `return state`?)"
                )
            state = result
    except JobLoadError as error:
        log.close_job_output()
        log.runtime(str(error))
        return _Outcome(ExitCode.LOAD_ERROR, error=f"JobLoadError: {error}")
    except MemoryError:
        state = {}  # what the job held goes before anything else is allocated
        log.close_job_output()
        limit = f" of {memory_limit_mb} MB" if memory_limit_mb else ""
        message = f"Out of memory: the job used more than its limit{limit} and was stopped"
        log.runtime(f"{message} (operation {position} of {count})\nJob killed (exit 134)")
        return _Outcome(ExitCode.OUT_OF_MEMORY, error=message)
    except (Exception, SystemExit) as error:
        return _failure(error, position, count, operation, log)
    finally:
        context.close_loop()
    return _Outcome(ExitCode.SUCCESS, state=state)


def _finish(outcome: _Outcome, log: Console, started: float) -> _Outcome:
    assert outcome.state is not None
    try:
        kept = redact(final_state(outcome.state), log.mask)
    except ValueError as error:  # a circular structure: nothing sensible to store
        message = f"The final state cannot be saved as JSON: {error}"
        log.runtime(message + "\nJob failed (exit 1)")
        return _Outcome(ExitCode.JOB_ERROR, error=message)
    log.runtime(f"Job succeeded ({(time.perf_counter() - started) * 1000:.0f} ms)")
    return _Outcome(ExitCode.SUCCESS, state=kept)


def _failure(
    error: BaseException, position: int, count: int, operation: Any, log: Console
) -> _Outcome:
    summary = f"{type(error).__name__}: {error}".rstrip(": ")
    name = getattr(operation, "__name__", type(operation).__name__)
    lines = [f"Error in operation {position} of {count} ({name}): {summary}"]
    frames = _job_frames(error)
    if frames:
        lines.append("Traceback (job code, most recent call last):")
        lines.extend(line.rstrip() for line in traceback.format_list(frames))
    lines.append("Job failed (exit 1)")
    log.close_job_output()
    log.runtime("\n".join(lines))
    return _Outcome(ExitCode.JOB_ERROR, error=summary)


_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_LIBRARY_DIRS = tuple(
    {sysconfig.get_paths()[key] + os.sep for key in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def _job_frames(error: BaseException) -> list[traceback.FrameSummary]:
    # Only the job's own code: the runtime, the standard library and installed packages
    # (httpx, jsonpath-ng) are noise to someone fixing a job.
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith((_RUNTIME_DIR, *_LIBRARY_DIRS, "<frozen"))
    ]
    return frames[-_TRACEBACK_FRAMES:]


def _one_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= _ERROR_CHARS else line[: _ERROR_CHARS - 3] + "..."
