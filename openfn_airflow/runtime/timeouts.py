"""Stop a job that runs past its timeout.

In the main thread a SIGALRM timer raises a private exception inside the job, wherever it
is (a ``time.sleep``, a busy loop, a blocking socket read). Elsewhere the job runs in a daemon
worker thread the caller stops waiting for; the worker then gets the same exception
asynchronously, which lands as soon as it executes Python again (a ``while True: pass`` stops
at once, a ``time.sleep(100)`` when the sleep returns; meanwhile its output is discarded).
"""

from __future__ import annotations

import contextvars
import ctypes
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Re-raised every RETRY seconds after the deadline, in case the job swallowed the first one
# with a bare ``except:``.
RETRY = 0.1


class _Deadline(BaseException):
    """Raised inside the job at its deadline; a BaseException so ``except Exception`` misses it."""


def call_with_timeout(func: Callable[[], T], timeout: float | None) -> tuple[bool, T | None]:
    """Call ``func``; return ``(timed_out, result)``. Without a timeout, just call it."""
    if timeout is None:
        return False, func()
    if timeout <= 0:
        return True, None
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _with_alarm(func, timeout)
    return _in_worker(func, timeout)


def _with_alarm(func: Callable[[], T], timeout: float) -> tuple[bool, T | None]:
    armed = True
    fired = False

    def on_alarm(signum: int, frame: Any) -> None:
        nonlocal fired
        if armed:
            fired = True
            raise _Deadline

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, timeout, RETRY)
    try:
        result = func()
        armed = False
        return fired, (None if fired else result)
    except _Deadline:
        armed = False
        return True, None
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(
            signal.SIGALRM, previous_handler if previous_handler is not None else signal.SIG_DFL
        )
        if previous_delay:
            remaining = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001), previous_interval)


def _in_worker(func: Callable[[], T], timeout: float) -> tuple[bool, T | None]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = func()
        except _Deadline:
            pass
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(target,), name="openfn-job", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        _raise_in(worker, _Deadline)
        worker.join(RETRY)
        return True, None
    if "error" in outcome:
        raise outcome["error"]
    return False, outcome["result"]


def _raise_in(thread: threading.Thread, exception: type[BaseException]) -> None:
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(exception)
        )
