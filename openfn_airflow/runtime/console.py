"""The run log: job output captured line by line, secrets masked, echoed as it happens.

From the first run on, ``sys.stdout``/``sys.stderr`` are proxies and the root logger carries a
handler; both route by a context variable, so output from a run's own thread (or the worker
thread it was copied into) goes to that run's ``Console`` and everything else passes through
untouched. Threads a job starts itself do not inherit the run and are not captured. Records
reach the handler only if the logger's level lets them through (the root level is not changed).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TextIO

from .redaction import masker

MAX_LOG_CHARS = 5_000_000
# Loggers whose records are the runtime's business (the http adaptor writes its own line).
_QUIET_LOGGERS = ("httpx", "httpcore")


class Console:
    """Collect one run's log lines; job output can be switched off, runtime lines cannot."""

    def __init__(
        self,
        *,
        job_output: bool = True,
        secrets: list[str] | None = None,
        echo: Callable[[str], None] | None = None,
        max_chars: int = MAX_LOG_CHARS,
    ) -> None:
        self._lines: list[str] = []
        self._chars = 0
        self._max_chars = max_chars
        self._truncated = False
        self._job_output = job_output
        self._mask = masker(secrets or [])
        self._echo = echo
        self._partial: dict[str, str] = {}
        self._lock = threading.RLock()
        self._local = threading.local()

    @property
    def echoing(self) -> bool:
        """True while this thread is inside ``echo`` (its own output must not loop back)."""
        return getattr(self._local, "echoing", False)

    def job(self, text: str) -> None:
        """Add text the job printed (``log()``, a logging record); dropped when console is off."""
        if self._job_output:
            with self._lock:
                self._flush_partial()
                for line in text.split("\n"):
                    self._add(line, job=True)

    def runtime(self, text: str) -> None:
        """Add a line from the runtime itself (HTTP, errors, outcome); always kept."""
        with self._lock:
            self._flush_partial()
            for line in text.split("\n"):
                self._add(line, job=False)

    def write(self, stream: str, text: str) -> None:
        """Add a raw write to a job stream, keeping a partial last line until its newline."""
        if not self._job_output or not text:
            return
        with self._lock:
            pending = self._partial.get(stream, "") + text
            if "\n" not in pending:
                self._partial[stream] = pending
                return
            *lines, self._partial[stream] = pending.split("\n")
            for line in lines:
                self._add(line.removesuffix("\r"), job=True)

    def close_job_output(self) -> None:
        """Flush partial lines, then ignore the job from now on (the run is over for it)."""
        with self._lock:
            self._flush_partial()
            self._job_output = False

    def text(self) -> str:
        """Return the log so far."""
        with self._lock:
            return "\n".join(self._lines)

    def mask(self, text: str) -> str:
        """Return text with this run's secrets replaced by ``***``."""
        return self._mask(text)

    def _flush_partial(self) -> None:
        # A line printed without its newline still comes before whatever is logged next.
        if self._partial:
            for rest in self._partial.values():
                if rest:
                    self._add(rest, job=True)
            self._partial.clear()

    def _add(self, line: str, *, job: bool) -> None:
        if job and self._truncated:
            return
        if job and self._chars + len(line) > self._max_chars:
            self._truncated = True
            line = f"[log truncated: the job printed more than {self._max_chars} characters]"
            job = False
        line = self._mask(line)
        self._lines.append(line)
        self._chars += len(line) + 1
        if self._echo is not None:
            self._local.echoing = True
            try:
                self._echo(line)
            except Exception:  # a broken echo must not break the run
                pass
            finally:
                self._local.echoing = False


class DetachedConsole:
    """Where operations write when called outside ``run_job`` (a REPL, a unit test)."""

    echoing = False

    def job(self, text: str) -> None:
        print(text)

    def runtime(self, text: str) -> None:
        logging.getLogger("openfn_airflow.runtime").info("%s", text)

    def mask(self, text: str) -> str:
        return text


_active: ContextVar[Console | None] = ContextVar("openfn_console", default=None)
_install_lock = threading.Lock()


class capture:  # noqa: N801 - used like a function: ``with capture(console):``
    """Route this context's prints and root-logger records to ``console`` for the block.

    The stream proxies and the log handler stay installed after the block (they pass
    everything through when no run is active): a worker thread abandoned at a timeout keeps
    its run's context, so whatever it prints later is still swallowed instead of leaking.
    """

    __slots__ = ("_console", "_token")

    def __init__(self, console: Console) -> None:
        self._console = console

    def __enter__(self) -> None:
        _install()
        self._token = _active.set(self._console)

    def __exit__(self, *exc_info: object) -> None:
        _active.reset(self._token)


class _Stream:
    """Stand-in for sys.stdout/sys.stderr that sends a run's writes to its console."""

    def __init__(self, name: str, target: TextIO) -> None:
        self._name = name
        self._target = target

    def write(self, text: str) -> int:
        console = _active.get()
        if console is None or console.echoing:
            return self._target.write(text)
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        console.write(self._name, text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if _active.get() is None:
            self._target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


class _RunLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        console = _active.get()
        if console is None or console.echoing or record.name.startswith(_QUIET_LOGGERS):
            return
        try:
            console.job(_format_record(record))
        except Exception:
            self.handleError(record)


def _outside_runs(record: logging.LogRecord) -> bool:
    # Filter for the root logger's other handlers: a run's records belong to its log only
    # (so console=False really hides them); the run's echo passes through.
    console = _active.get()
    return console is None or console.echoing


_handler = _RunLogHandler()
_formatter = logging.Formatter()


def _format_record(record: logging.LogRecord) -> str:
    message = record.getMessage()
    prefix = record.levelname if record.name == "root" else f"{record.levelname} {record.name}"
    if record.exc_info:
        message += "\n" + _formatter.formatException(record.exc_info)
    return f"{prefix}: {message}"


def _install() -> None:
    # Checked on every run: pytest, Airflow or logging.config may have replaced these since.
    root = logging.getLogger()
    if (
        isinstance(sys.stdout, _Stream)
        and isinstance(sys.stderr, _Stream)
        and _handler in root.handlers
        and all(_outside_runs in h.filters for h in root.handlers if h is not _handler)
    ):
        return
    with _install_lock:
        if not isinstance(sys.stdout, _Stream):
            sys.stdout = _Stream("stdout", sys.stdout)  # type: ignore[assignment]
        if not isinstance(sys.stderr, _Stream):
            sys.stderr = _Stream("stderr", sys.stderr)  # type: ignore[assignment]
        for handler in root.handlers:
            if handler is not _handler and _outside_runs not in handler.filters:
                handler.addFilter(_outside_runs)
        if _handler not in root.handlers:
            root.addHandler(_handler)
