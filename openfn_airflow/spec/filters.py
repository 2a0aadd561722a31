"""Message filters: the JSON a message body must contain (criteria) or must not (exclude)."""

from __future__ import annotations

import datetime
import json
import math

from openfn_airflow.spec.fields import describe
from openfn_airflow.spec.problems import Problems, SpecPath

_HINT = (
    "write a YAML mapping or list, e.g. {formID: patient_registration}, "
    """or a JSON string, e.g. '{"formID": "patient_registration"}'"""
)


def read_filter(value: object, path: SpecPath, problems: Problems) -> dict | list | None:
    """Return the filter as a JSON object or array, or None after recording a problem.

    OpenFn v1 exports wrote filters as JSON strings; those are parsed here.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            problems.add(path, f"not valid JSON: {error.msg} (character {error.pos + 1})", _HINT)
            return None
    if not isinstance(value, dict | list):
        problems.add(path, f"expected a JSON object or array, got {describe(value)}", _HINT)
        return None
    before = len(problems)
    _check_json(value, path, problems)
    return value if len(problems) == before else None


def _check_json(value: object, path: SpecPath, problems: Problems) -> None:
    """Record every part of `value` that JSON (and so a jsonb message body) cannot hold."""
    if value is None or isinstance(value, bool | str | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.add(path, f"{value} is not a JSON number", "use a finite number")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, (*path, index), problems)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                problems.add(
                    (*path, str(key)),
                    f"JSON keys are text, got {describe(key)}",
                    f'quote the key: "{key}"',
                )
            else:
                _check_json(item, (*path, key), problems)
        return
    if isinstance(value, datetime.date):
        problems.add(
            path,
            f"{value} is a YAML date, which JSON has no type for",
            f'quote it to match the text in a message: "{value}"',
        )
        return
    problems.add(
        path,
        f"{describe(value)} cannot appear in JSON",
        "use text, numbers, true/false, null, lists and mappings",
    )
