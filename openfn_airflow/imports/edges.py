"""What a Lightning edge becomes here: the trigger of its target job, or why it cannot be one."""

from __future__ import annotations

from dataclasses import dataclass

from openfn_airflow.imports.names import NameTable

#: Lightning's default cron expression (lib/lightning/workflows/trigger.ex).
_DEFAULT_CRON = "0 0 * * *"


@dataclass
class Route:
    """One edge into a job, as a trigger here (`spec`) or as the reason it cannot be one."""

    edge: str
    trigger_key: object = None  # what the trigger is looked up by in the NameTable
    trigger_name: str = ""
    spec: dict[str, object] | None = None
    reason: str = ""
    paused: bool = False  # the Lightning trigger is disabled
    caveat: str = ""


def route_of(
    workflow: str,
    edge_key: str,
    edge: dict,
    triggers: dict,
    job_names: NameTable,
    target: str,
    project: str,
) -> Route:
    """Say which trigger here the edge `edge_key` into job `target` becomes, or why none."""
    route = Route(edge=edge_key)
    condition = edge.get("condition_type") or "always"
    if edge.get("enabled") is False:
        route.reason = "it is disabled in the export"
        return route
    if condition == "js_expression":
        label = f" ({edge['condition_label']})" if edge.get("condition_label") else ""
        expression = str(edge.get("condition_expression") or "").strip()
        route.reason = (
            f"its JavaScript condition{label} `{expression}` has no equivalent here "
            "(a trigger here is a message filter, a cron schedule or a job's success or failure)"
        )
        return route
    if edge.get("source_trigger") is not None:
        trigger = str(edge["source_trigger"])
        return _trigger_route(workflow, route, trigger, triggers, target, project)
    source_job = job_names.get((workflow, str(edge.get("source_job"))))
    if source_job is None:
        route.reason = f"its source job {edge.get('source_job')} is not one of the workflow's jobs"
        return route
    if condition not in ("on_job_success", "on_job_failure", "always"):
        route.reason = f"its condition {condition} is unknown"
        return route
    kind = "failure" if condition == "on_job_failure" else "success"
    route.trigger_key = (kind, source_job)
    route.trigger_name = f"{source_job}-{'succeeded' if kind == 'success' else 'failed'}"
    route.spec = {kind: source_job}
    if condition == "always":
        route.caveat = (
            f"its edge {edge_key} runs it 'always' after {source_job}; a trigger here follows "
            f"one outcome, so it runs only when {source_job} succeeds. To also run it when "
            f"{source_job} fails, add a second job with the same file: and trigger: "
            f"{{failure: {source_job}}}"
        )
    return route


def _trigger_route(
    workflow: str, route: Route, key: str, triggers: dict, target: str, project: str
) -> Route:
    raw = triggers.get(key)
    if not isinstance(raw, dict):
        route.reason = f"its trigger {key} is not among the workflow's triggers"
        return route
    kind = raw.get("type") or key
    route.trigger_key = (workflow, key)
    route.trigger_name = f"{workflow}-{key}"
    route.paused = raw.get("enabled") is False
    caveats = []
    if kind == "webhook":
        # {} is contained in every JSON object, so this matches every message whose body is
        # an object (form, XML and most JSON posts); no one filter also matches array bodies.
        route.spec = {"criteria": {}}
        caveats.append(
            "its webhook becomes a message filter, criteria: {}, matching every message of the "
            "project's inbox whose body is a JSON object (an array body does not contain {}: "
            "if senders post arrays, add a job with the same file: and criteria: []); send to "
            f"the URL that `openfn-airflow inbox-url {project}` prints"
        )
        if raw.get("webhook_reply") not in (None, "before_start"):
            caveats.append(
                f"webhook_reply: {raw['webhook_reply']} is not carried over: the inbox answers "
                "202 with the message id as soon as it stores the message"
            )
    elif kind == "cron":
        expression = raw.get("cron_expression")
        route.spec = {"cron": str(expression).strip() if expression else _DEFAULT_CRON}
        if not expression:
            caveats.append(
                f"its cron trigger has no cron_expression; Lightning's default {_DEFAULT_CRON} is used"
            )
        cursor = raw.get("cron_cursor_job")
        if cursor and str(cursor) != target:
            caveats.append(
                f"cron_cursor_job: {cursor} is not carried over: a cron job here starts from "
                "its own last successful final state"
            )
    elif kind == "kafka":
        config = raw.get("kafka_configuration") or {}
        topics = ", ".join(map(str, config.get("topics") or [])) if isinstance(config, dict) else ""
        route.reason = (
            f"its Kafka trigger{f' (topics {topics})' if topics else ''} has no equivalent here: "
            "have a consumer post the messages to the project's inbox and add a message filter"
        )
        return route
    else:
        route.reason = f"its trigger type {kind} is unknown"
        return route
    route.caveat = "; ".join(caveats)
    return route
