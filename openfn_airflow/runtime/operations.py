"""OpenFn language-common operations, Python-named (``fn``, ``each``, ``cursor``, ...).

An operation is a function of state returning the next state. Helpers that take values
accept lazy ones (functions of state), resolved with ``expand`` when the operation runs.
Operations return new dicts rather than mutating the state they were given.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .dates import iso, parse_natural_date
from .references import expand, find
from .run_context import call, current_run
from .state import Operation, State


def fn(func: Callable[[State], Any]) -> Operation:
    """Return an operation calling ``func(state)``; ``func`` returns the next state."""

    def operation(state: State) -> Any:
        return func(state)

    return _named(operation, f"fn({getattr(func, '__name__', type(func).__name__)})")


alter_state = fn


def fn_if(condition: Any, operation: Operation) -> Operation:
    """Return an operation running ``operation`` only when ``condition`` resolves truthy."""

    def conditional(state: State) -> Any:
        return call(operation, state) if expand(condition, state) else state

    return _named(conditional, "fn_if")


def each(data_source: Any, operation: Operation) -> Operation:
    """Return an operation running ``operation`` once per item of ``data_source``.

    ``data_source`` is a JSONPath string (all its matches: ``"$.data.items[*]"``), a list, or
    a function of state giving a list. Each run sees ``{**state, "data": item, "index": i}``
    and the state it returns is threaded into the next; ``data`` is not restored afterwards.
    """
    if data_source is None or data_source == "":
        raise TypeError("each(): the data source is empty; give a JSONPath, a list or a function")

    def loop(state: State) -> State:
        for index, item in enumerate(_as_list(data_source, state, "each")):
            state = call(operation, {**state, "data": item, "index": index})
        return state

    return _named(loop, "each")


def map_(path: Any, callback: Callable[[Any, int, State], Any]) -> Operation:
    """Return an operation setting ``data`` to ``[callback(item, index, state), ...]``.

    ``path`` is a JSONPath string, a list or a function of state; ``callback`` may be async.
    """

    def mapping(state: State) -> State:
        items = _as_list(path, state, "map")
        results = [_settled(callback(item, index, state)) for index, item in enumerate(items)]
        return {**state, "data": results}

    return _named(mapping, "map")


map = map_  # the OpenFn name; shadows the builtin in job files, on purpose


def combine(*operations: Operation) -> Operation:
    """Return one operation running ``operations`` in order, merging each result into state."""

    def combined(state: State) -> State:
        for operation in operations:
            state = {**state, **call(operation, state)}
        return state

    return _named(combined, "combine")


def field(key: str, value: Any) -> tuple[str, Any]:
    """Return a ``(key, value)`` pair for ``fields``; ``value`` may be lazy."""
    return (key, value)


def fields(*pairs: tuple[str, Any]) -> dict[str, Any]:
    """Return a dict of ``field`` pairs; lazy values stay lazy until an operation expands them."""
    return dict(pairs)


def merge(data_source: Any, values: dict[str, Any]) -> Callable[[State], list[dict[str, Any]]]:
    """Return a function of state giving each item of ``data_source`` merged with ``values``.

    ``values`` is resolved once against state (not per item), as OpenFn does.
    """

    def merged(state: State) -> list[dict[str, Any]]:
        extra = expand(values, state)
        return [{**item, **extra} for item in _as_list(data_source, state, "merge")]

    return merged


def cursor(
    value: Any,
    key: str = "cursor",
    default_value: Any = None,
    format: Callable[[Any], Any] | str | None = None,  # OpenFn's option name
) -> Operation:
    """Return an operation setting ``state[key]`` to ``value`` (or ``default_value`` if None).

    Natural words become ISO 8601 UTC strings (``2024-05-01T00:00:00.000Z``): ``now``,
    ``today``, ``yesterday``, ``start`` (when the run started), ``N hours ago``, ``N days ago``.
    ``format`` is a function applied to the result (a datetime for words) or, for words, an
    ``strftime`` pattern.
    """

    def set_cursor(state: State) -> State:
        resolved_key = expand(key, state)
        chosen = expand(value, state)
        if chosen is None:
            chosen = expand(default_value, state)
        moment = None
        if isinstance(chosen, str):
            moment = parse_natural_date(chosen, start=current_run().started_at)
        if moment is not None:
            result = _format_moment(moment, format)
            current_run().console.job(f'Setting {resolved_key} "{chosen}" to: {result}')
        else:
            result = format(chosen) if callable(format) else chosen
            current_run().console.job(f"Setting {resolved_key} to: {_text(result)}")
        return {**state, resolved_key: result}

    return _named(set_cursor, "cursor")


def as_(key: Any, operation: Operation) -> Operation:
    """Return an operation storing ``operation``'s ``data`` under ``state[key]``, keeping ``data``."""

    def stored(state: State) -> State:
        resolved_key = expand(key, state)
        result = call(operation, state)
        rest = {k: v for k, v in result.items() if k != "data"}
        return {**state, **rest, resolved_key: result.get("data"), "data": state.get("data")}

    return _named(stored, "as_")


def log(*args: Any) -> Operation:
    """Return an operation printing ``args`` (resolved against state) to the job console."""

    def logged(state: State) -> State:
        current_run().console.job(" ".join(_text(arg) for arg in expand(args, state)))
        return state

    return _named(logged, "log")


def chunk(items: list[Any], size: int) -> list[list[Any]]:
    """Split ``items`` into lists of at most ``size`` items."""
    if size < 1:
        raise ValueError(f"chunk(): size must be at least 1, got {size}")
    return [items[start : start + size] for start in range(0, len(items), size)]


def to_array(value: Any) -> list[Any]:
    """Return a list: a list or tuple's items, otherwise ``[value]`` (``None`` gives ``[None]``)."""
    return list(value) if isinstance(value, list | tuple) else [value]


def _as_list(source: Any, state: State, helper: str) -> Iterable[Any]:
    items = find(source, state) if isinstance(source, str) else expand(source, state)
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        raise TypeError(
            f"{helper}(): the data source gave a {type(items).__name__}, not a list"
            " (a JSONPath over a list needs [*], like '$.data.items[*]')"
        )
    return items


def _settled(result: Any) -> Any:
    return current_run().settle(result) if inspect.isawaitable(result) else result


def _format_moment(moment: datetime, format: Callable[[Any], Any] | str | None) -> Any:
    if callable(format):
        return format(moment)
    if isinstance(format, str):
        return moment.strftime(format)
    return iso(moment)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _named(operation: Callable[..., Any], name: str) -> Callable[..., Any]:
    operation.__name__ = operation.__qualname__ = name
    return operation
