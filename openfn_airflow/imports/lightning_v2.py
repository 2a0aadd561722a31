"""Lightning's newer portability format (`workflows:` as a list of `steps:`), read as the older one.

Each workflow's steps are triggers (a step with `type:`) and jobs; a step's `next:` names the
steps it leads to, with a condition. Turning that into the `jobs:` / `triggers:` / `edges:`
shape of `lightning.py` lets one reader decide what carries over. Field names follow
Lightning's `lib/lightning/workflows/yaml_format/v2.ex` (the @openfn/cli lexicon).
"""

from __future__ import annotations

from openfn_airflow.imports.models import BadExport

#: The JavaScript bodies Lightning writes for its two standard conditions (v2.ex).
_SUCCESS = {"on_job_success", "!state.errors"}
_FAILURE = {"on_job_failure", "!!state.errors"}


def to_workflows_of_edges(data: dict) -> tuple[dict, list[str]]:
    """Return `data` in the jobs / triggers / edges shape, and notes on what did not fit it."""
    notes: list[str] = []
    converted: dict[str, object] = {
        key: data[key] for key in ("name", "description", "collections") if key in data
    }
    converted["credentials"] = _credentials(data.get("credentials"))
    workflows: dict[str, object] = {}
    for index, raw in enumerate(data["workflows"]):
        where = f"workflows[{index}]"
        if not isinstance(raw, dict):
            raise BadExport(where, "expected a workflow (a mapping with steps:)")
        key = str(
            raw.get("id") or str(raw.get("name") or f"workflow-{index + 1}").replace(" ", "-")
        )
        workflows[key] = _workflow(raw, where, notes)
    converted["workflows"] = workflows
    return converted, notes


def _credentials(raw: object) -> dict[str, object]:
    """v2 lists credentials as {name, owner}; jobs refer to them as `owner|name`."""
    found: dict[str, object] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and item.get("name"):
            owner = item.get("owner")
            found[f"{owner}|{item['name']}" if owner else str(item["name"])] = item
    return found


def _workflow(raw: dict, where: str, notes: list[str]) -> dict[str, object]:
    steps = raw.get("steps") or []
    if not isinstance(steps, list):
        raise BadExport(f"{where}.steps", "expected a list of steps")
    jobs: dict[str, object] = {}
    triggers: dict[str, object] = {}
    edges: dict[str, object] = {}
    for index, step in enumerate(steps):
        step_where = f"{where}.steps[{index}]"
        if not isinstance(step, dict) or not step.get("id"):
            raise BadExport(step_where, "expected a step with an id")
        step_id = str(step["id"])
        if "type" in step:
            triggers[step_id] = _trigger(step)
        else:
            jobs[step_id] = _job(step, step_where, notes)
        source = "source_trigger" if "type" in step else "source_job"
        for target, edge in _next(step.get("next")).items():
            edges[f"{step_id}->{target}"] = {source: step_id, "target_job": target, **edge}
    workflow: dict[str, object] = {"name": raw.get("name"), "jobs": jobs, "triggers": triggers}
    workflow["edges"] = edges
    return workflow


def _trigger(step: dict) -> dict[str, object]:
    openfn = step.get("openfn")
    extra: dict = openfn if isinstance(openfn, dict) else {}
    trigger: dict[str, object] = {"type": step["type"], "enabled": step.get("enabled", True)}
    cron = extra.get("cron") or step.get("cron_expression")
    if cron:
        trigger["cron_expression"] = cron
    for key, old in (("cron_cursor", "cron_cursor_job"), ("webhook_reply", "webhook_reply")):
        if extra.get(key):
            trigger[old] = extra[key]
    if extra.get("kafka"):
        trigger["kafka_configuration"] = extra["kafka"]
    return trigger


def _job(step: dict, where: str, notes: list[str]) -> dict[str, object]:
    adaptors = step.get("adaptors")
    adaptor = step.get("adaptor")
    if isinstance(adaptors, list) and adaptors:
        adaptor = adaptors[0]
        if len(adaptors) > 1:
            notes.append(
                f"job {step['id']}: only its first adaptor {adaptors[0]} is carried over "
                f"(the export lists {', '.join(map(str, adaptors))})"
            )
    if not step.get("expression"):
        raise BadExport(
            f"{where}.expression",
            "the job has no code",
            "export the project again with its job code, or write the code in before importing",
        )
    return {
        "name": step.get("name"),
        "adaptor": adaptor,
        "credential": step.get("configuration"),
        "body": step["expression"],
    }


def _next(raw: object) -> dict[str, dict[str, object]]:
    """Return the edges of a step's `next:` (a step id, or targets with conditions)."""
    if isinstance(raw, str):
        return {raw: {"condition_type": "always"}}
    edges: dict[str, dict[str, object]] = {}
    for target, value in (raw or {}).items() if isinstance(raw, dict) else ():
        edge = value if isinstance(value, dict) else {}
        condition = str(edge.get("condition") or "always").strip()
        converted: dict[str, object] = {"enabled": not edge.get("disabled", False)}
        if condition in _SUCCESS:
            converted["condition_type"] = "on_job_success"
        elif condition in _FAILURE:
            converted["condition_type"] = "on_job_failure"
        elif condition == "always":
            converted["condition_type"] = "always"
        elif condition == "never":
            converted["condition_type"], converted["enabled"] = "always", False
        else:  # js_expression with its body in expression:, or a bare JavaScript body
            body = edge.get("expression") if condition == "js_expression" else condition
            converted["condition_type"] = "js_expression"
            converted["condition_expression"] = body
        if edge.get("label"):
            converted["condition_label"] = edge["label"]
        edges[str(target)] = converted
    return edges
