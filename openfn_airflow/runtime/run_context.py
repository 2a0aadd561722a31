"""What an operation knows about the run it is part of: console, HTTP mode, start time.

``run_job`` sets the context; operations read it with ``current_run()``. Called outside a
run, operations get a detached context (print to stdout, real HTTP).
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .console import Console, DetachedConsole

if TYPE_CHECKING:
    import asyncio


@dataclass(eq=False)
class RunContext:
    """One run's settings and the resources it opened (closed when the run ends)."""

    console: Console | DetachedConsole
    test_mode: bool = False
    transport: Any = None  # an httpx.BaseTransport injected by the caller, or None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    cancelled: bool = False  # set when the run timed out: operations still running must stop
    resources: dict[Any, Any] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None

    def settle(self, awaitable: Awaitable[Any]) -> Any:
        """Run an awaitable an operation returned to completion and return its result."""
        import asyncio  # only jobs with async operations pay for importing it

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(_awaited(awaitable))
        # A loop already runs in this thread (async caller, or an async op calling a helper
        # synchronously): finish the awaitable on a helper thread with its own loop.
        result: dict[str, Any] = {}
        context = contextvars.copy_context()

        def finish() -> None:
            try:
                result["value"] = context.run(asyncio.run, _awaited(awaitable))
            except BaseException as error:  # re-raised in the calling thread
                result["error"] = error

        helper = threading.Thread(target=finish, name="openfn-async", daemon=True)
        helper.start()
        helper.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def close_loop(self) -> None:
        """Close the event loop async operations used (call from the thread that ran them)."""
        if self._loop is not None and not self._loop.is_running():
            self._loop.close()
            self._loop = None

    def close(self) -> None:
        """Close what the run opened (HTTP clients for an injected transport)."""
        for resource in self.resources.values():
            close = getattr(resource, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):  # closing must not fail a finished run
                    close()
        self.resources.clear()


_current: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "openfn_run", default=None
)
_detached: RunContext | None = None


def current_run() -> RunContext:
    """Return the context of the run this code executes in (a detached one outside runs)."""
    context = _current.get()
    if context is not None:
        return context
    global _detached
    if _detached is None:
        _detached = RunContext(console=DetachedConsole())
    return _detached


class entered:  # noqa: N801 - used like a function: ``with entered(context):``
    """Make ``context`` the current run for the block."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: RunContext) -> None:
        self._context = context

    def __enter__(self) -> RunContext:
        self._token = _current.set(self._context)
        return self._context

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._token)


def call(operation: Callable[[Any], Any], state: Any) -> Any:
    """Call an operation on state; if it returns an awaitable, wait for the state it gives."""
    result = operation(state)
    if type(result) is dict or not inspect.isawaitable(result):
        return result
    return current_run().settle(result)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
