"""The job state: its type, how a run's first state is built and how its last one is kept."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

State: TypeAlias = dict[str, Any]
Operation: TypeAlias = Callable[[State], "State | Awaitable[State]"]

CONFIGURATION = "configuration"


def compose_next_state(state: State, response: Any) -> State:
    """Return state with ``data`` = response and the old ``data`` appended to ``references``."""
    return {
        **state,
        "data": response,
        "references": [*(state.get("references") or []), state.get("data")],
    }


def initial_state(state: dict[str, Any] | None, configuration: dict[str, Any] | None) -> State:
    """Build the state a run starts from: a shallow copy with defaults and the credential.

    Nested values are shared with the caller, not copied: a job that mutates them in place
    mutates the caller's objects.
    """
    result: State = dict(state) if state else {}
    if configuration is not None:
        result[CONFIGURATION] = configuration
    result.setdefault("references", [])
    result.setdefault("data", {})
    return result


def final_state(state: State) -> State:
    """Return what a run keeps of its last state: JSON-safe, without any ``configuration``.

    ``configuration`` is dropped at the top level and from the dicts directly under it
    (``state["data"]["configuration"]``, ``state["references"][i]["configuration"]``), the
    places a job copying state around would leave one. Values JSON cannot hold become
    strings (``default=str``); a circular structure raises ``ValueError``.
    """
    kept = {
        key: _without_configuration(value) for key, value in state.items() if key != CONFIGURATION
    }
    try:
        json.dumps(kept)  # the common case, on json's cached C encoder
        return kept
    except TypeError:  # a value or a key JSON cannot hold: convert, keeping the rest as is
        return json.loads(json.dumps(_with_str_keys(kept), default=str))


def _without_configuration(value: Any) -> Any:
    if isinstance(value, dict) and CONFIGURATION in value:
        return {k: v for k, v in value.items() if k != CONFIGURATION}
    if isinstance(value, list) and any(isinstance(v, dict) and CONFIGURATION in v for v in value):
        return [_without_configuration(v) for v in value]
    return value


def _with_str_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str | int | float | bool) or k is None else str(k)): _with_str_keys(
                v
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_with_str_keys(v) for v in value]
    return value
