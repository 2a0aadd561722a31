"""Reading one trigger entry: a message filter, a cron schedule, or a job's success/failure."""

from __future__ import annotations

from openfn_airflow.spec.fields import check_keys, describe, expect_mapping
from openfn_airflow.spec.filters import read_filter
from openfn_airflow.spec.models import Trigger, TriggerKind
from openfn_airflow.spec.problems import Problems, SpecPath
from openfn_airflow.spec.schedules import cron_problem, timezone_problem

KIND_KEYS = ("criteria", "cron", "success", "failure")
TRIGGER_KEYS = (*KIND_KEYS, "exclude", "timezone")

_KIND_OF_KEY: dict[str, TriggerKind] = {
    "criteria": "message",
    "cron": "cron",
    "success": "success",
    "failure": "failure",
}
_EXAMPLES = (
    'e.g. {criteria: {formID: x}}, {cron: "*/5 * * * *"}, {success: other-job} '
    "or {failure: other-job}"
)


def read_trigger(name: str, raw: object, path: SpecPath, problems: Problems) -> Trigger | None:
    """Return the trigger written at `path`, or None when it has a problem (all recorded)."""
    mapping = expect_mapping(
        raw, path, problems, "a mapping with one of criteria, cron, success or failure", _EXAMPLES
    )
    if mapping is None:
        return None
    before = len(problems)
    check_keys(mapping, TRIGGER_KEYS, path, problems)
    kinds = [key for key in KIND_KEYS if key in mapping]
    if not kinds:
        problems.add(path, "a trigger needs one of criteria, cron, success or failure", _EXAMPLES)
    elif len(kinds) > 1:
        problems.add(
            path,
            f"a trigger has exactly one of criteria, cron, success or failure; this one has {' and '.join(kinds)}",
            "split it into one trigger per kind",
        )

    criteria = (
        read_filter(mapping["criteria"], (*path, "criteria"), problems)
        if "criteria" in mapping
        else None
    )
    exclude = None
    if "exclude" in mapping:
        exclude = read_filter(mapping["exclude"], (*path, "exclude"), problems)
        if "criteria" not in mapping:
            problems.add(
                (*path, "exclude"),
                "exclude only applies to a message filter",
                "add criteria (use {} to match every message) or remove exclude",
            )
    cron = _read_cron(mapping, path, problems)
    timezone = _read_timezone(mapping, path, problems)
    upstream = {key: _read_job_name(mapping, key, path, problems) for key in ("success", "failure")}

    if len(problems) > before:
        return None
    kind = _KIND_OF_KEY[kinds[0]]
    return Trigger(
        name=name,
        kind=kind,
        criteria=criteria,
        exclude=exclude,
        cron=cron,
        timezone=timezone,
        upstream=upstream.get(kind),
    )


def _read_cron(mapping: dict, path: SpecPath, problems: Problems) -> str | None:
    if "cron" not in mapping:
        return None
    value = mapping["cron"]
    if not isinstance(value, str):
        problems.add(
            (*path, "cron"),
            f"expected a cron expression, got {describe(value)}",
            'quote it: "*/5 * * * *"',
        )
        return None
    problem = cron_problem(value)
    if problem:
        problems.add((*path, "cron"), *problem)
        return None
    return value.strip()


def _read_timezone(mapping: dict, path: SpecPath, problems: Problems) -> str:
    if "timezone" not in mapping:
        return "UTC"
    value = mapping["timezone"]
    if "cron" not in mapping:
        problems.add((*path, "timezone"), "timezone only applies to a cron trigger", "remove it")
        return "UTC"
    if not isinstance(value, str):
        problems.add(
            (*path, "timezone"),
            f"expected a timezone name, got {describe(value)}",
            'e.g. timezone: "Africa/Nairobi"',
        )
        return "UTC"
    problem = timezone_problem(value)
    if problem:
        problems.add((*path, "timezone"), *problem)
        return "UTC"
    return value


def _read_job_name(mapping: dict, key: str, path: SpecPath, problems: Problems) -> str | None:
    if key not in mapping:
        return None
    value = mapping[key]
    if isinstance(value, str) and value:
        return value
    problems.add(
        (*path, key),
        f"expected a job name, got {describe(value)}",
        f"write {key}: <name of a job in this project>",
    )
    return None
