"""Lazy values and JSONPath: how job arguments refer to the state they will run on.

Any argument of a helper may be a function of state; ``expand`` resolves it (and any such
functions inside dicts, lists and tuples) at run time, as OpenFn's ``expandReferences`` does.
Paths use JSONPath (``$.data.items[*]``). Plain paths (``a.b[0]``, ``$.data['x-y']``) are
resolved directly; anything else goes through jsonpath-ng's extended parser, cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .state import State

_SCALARS = (str, int, float, bool, type(None), bytes)


def expand(value: Any, state: State) -> Any:
    """Resolve ``value`` against state: call functions of state, recursing into containers.

    A function's result is expanded again (OpenFn semantics). Containers with nothing lazy
    inside are returned as they are, not copied.
    """
    if isinstance(value, _SCALARS):
        return value
    if callable(value):
        return expand(value(state), state)
    if isinstance(value, dict):
        expanded = {key: expand(item, state) for key, item in value.items()}
        if all(expanded[key] is item for key, item in value.items()):
            return value
        return expanded
    if isinstance(value, list | tuple):
        items = [expand(item, state) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


def find(path: str, obj: Any) -> list[Any]:
    """Return every value the JSONPath ``path`` matches in ``obj`` (an empty list if none)."""
    steps = _plain_steps(path)
    if steps is None:
        return [match.value for match in _compiled(path).find(obj)]
    current = obj
    for step in steps:
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return []
        elif not isinstance(current, dict) or step not in current:
            return []
        current = current[step]
    return [current]


def source(path: str) -> Callable[[State], list[Any]]:
    """Return a function of state giving every match of ``path`` on state (a list)."""
    return lambda state: find(path, state)


def source_value(path: str) -> Callable[[State], Any]:
    """Return a function of state giving the first match of ``path`` on state, or None."""

    def first(state: State) -> Any:
        matches = find(path, state)
        return matches[0] if matches else None

    return first


def json_value(obj: Any, path: str) -> Any:
    """Return the first match of ``path`` in ``obj`` (not lazy), or None."""
    matches = find(path, obj)
    return matches[0] if matches else None


def data_path(path: str) -> str:
    """Return ``path`` rooted at ``$.data``: ``"a.b"``, ``".a.b"`` and ``"$.a.b"`` all give ``"$.data.a.b"``."""
    return "$.data." + _strip_root(path)


def data_value(path: str) -> Callable[[State], Any]:
    """Return a function of state giving the first match of ``path`` under ``state["data"]``."""
    return source_value(data_path(path))


def reference_path(path: str) -> str:
    """Return ``path`` rooted at ``$.references``: ``"[0].id"`` gives ``"$.references[0].id"``."""
    stripped = _strip_root(path)
    return "$.references" + (stripped if stripped.startswith("[") else "." + stripped)


def last_reference_value(path: str) -> Callable[[State], Any]:
    """Return a function of state giving ``path`` in ``state["references"][0]``.

    OpenFn v1 quirk, kept on purpose: ``compose_next_state`` *appends* to ``references``, so
    index 0 is the oldest reference, not the last one. Jobs ported from v1 rely on this.
    """
    return source_value(reference_path("[0]." + path))


def _strip_root(path: str) -> str:
    stripped = path.lstrip("$.")
    if not stripped:
        raise ValueError(f"empty path {path!r}")
    return stripped


_PLAIN_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_][\w-]*)|\[(?P<index>-?\d+)\]|\[(?P<q>['"])(?P<key>[^'"\\]*)(?P=q)\]"""
)


@lru_cache(maxsize=2048)
def _plain_steps(path: str) -> tuple[str | int, ...] | None:
    # A path of plain field names and indexes, resolved here without the (slow) parser.
    text = path if path.startswith("$") else "$." + path
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        match = _PLAIN_STEP.match(text, position)
        if match is None:
            return None
        if match["name"] is not None:
            steps.append(match["name"])
        elif match["index"] is not None:
            steps.append(int(match["index"]))
        else:
            steps.append(match["key"])
        position = match.end()
    return tuple(steps)


@lru_cache(maxsize=512)
def _compiled(path: str) -> Any:
    from jsonpath_ng.ext import parse  # imported late: building its parser costs milliseconds

    try:
        return parse(path)
    except Exception as error:  # jsonpath-ng raises several unrelated types for bad paths
        raise ValueError(f"invalid JSONPath {path!r}: {error}") from None
