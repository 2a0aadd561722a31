"""Decide which OpenFn runs one Airflow task execution performs, and their initial states.

Pure logic over a small description of the Airflow context (``TaskTrigger``) and the store, so
the rules of DESIGN §1 (initial state per trigger kind) are testable without a scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openfn_airflow.store import messages, runs

RUN_KEY_PREFIX = "run-"
# The JSON API's download route of a message's file (plugin/routers/messages.py).
ATTACHMENT_URL = "/openfn/api/v1/messages/{message_id}/attachments/{position}"
PURGED = "has no state left: its message passed its retention period and was deleted"


@dataclass(frozen=True)
class TaskTrigger:
    """What started this task: the job's trigger kind plus what Airflow handed the task."""

    kind: str  # the job's trigger kind: message | cron | success | failure | "" (manual only)
    run_type: str  # Airflow DagRunType value: manual | scheduled | asset_triggered | ...
    params: dict[str, Any] = field(default_factory=dict)
    partition_key: str | None = None
    event_extras: tuple[dict[str, Any], ...] = ()


@dataclass
class RunInput:
    """One OpenFn run to perform: its trigger kind, initial state and what it came from."""

    trigger: str
    initial_state: dict[str, Any] | None
    message_id: int | None = None
    upstream_run_id: int | None = None
    problem: str | None = None  # set when the run cannot start (exit code 3)
    retry_of: int | None = None  # the ledger run this one repeats (Airflow retried / cleared)
    ledger_id: int | None = None  # the row exists already (a claimed pending run)


def run_key(run_id: int) -> str:
    """Partition key naming a ledger run, carried by success / failure asset events."""
    return f"{RUN_KEY_PREFIX}{run_id}"


def runs_key(run_ids: list[int]) -> str:
    """The partition key of one event that stands for several upstream runs (ids ascending)."""
    return f"runs-{run_ids[0]}-{run_ids[-1]}"


def parse_run_key(key: str | None) -> int | None:
    if not key or not key.startswith(RUN_KEY_PREFIX):
        return None
    try:
        return int(key[len(RUN_KEY_PREFIX) :])
    except ValueError:
        return None


def message_state(message: dict[str, Any]) -> dict[str, Any]:
    """Initial state of a message-triggered run (OpenFn v1 / Lightning shape).

    A message with files (an ODK submission's photos) names them in ``request.attachments``:
    position, name, field, content_type, size, sha256 and ``url``, the download route under
    Airflow's base URL. Never their bytes.
    """
    request: dict[str, Any] = {
        "headers": message.get("headers") or {},
        "method": message.get("method"),
        "path": message.get("path"),
        "query": message.get("query") or {},
    }
    files = message.get("attachments") or []
    if files:
        request["attachments"] = [
            {**file, "url": ATTACHMENT_URL.format(message_id=message["id"], **file)}
            for file in files
        ]
    return {"data": message["body"], "request": request, "references": []}


def message_ids_of(extras: tuple[dict[str, Any], ...]) -> list[int]:
    """Message ids named by asset events, in event order, each once."""
    values: list[Any] = []
    for extra in extras:
        ids = extra.get("message_ids")
        if ids is None and extra.get("message_id") is not None:
            ids = [extra["message_id"]]
        values.extend(ids or ())
    return _unique_ints(values)


def _unique_ints(values: list[Any]) -> list[int]:
    """The values that are integers, in order, each once."""
    seen: dict[int, None] = {}
    for value in values:
        try:
            seen.setdefault(int(value), None)
        except (TypeError, ValueError):
            continue
    return list(seen)


def message_inputs(
    conn, ids: list[int], trigger: str, *, project: str | None = None
) -> list[RunInput]:
    """Inputs of runs on these messages; with ``project``, another project's message cannot start.

    A message id reaches a job from a request (the Trigger DAG form, an asset event made through
    Airflow's REST API): whoever may run a job of one project must not run it on, and so read,
    another project's message.
    """
    found = {m["id"]: m for m in messages.get_messages(conn, ids)}
    inputs = []
    for message_id in ids:
        message = found.get(message_id)
        if message is None or (project is not None and message["project"] != project):
            # The same words either way: whether another project's message exists is not told.
            inputs.append(
                RunInput(trigger, None, problem=f"message {message_id} does not exist (deleted?)")
            )
        else:
            inputs.append(RunInput(trigger, message_state(message), message_id=message_id))
    return inputs


def _upstream_input(conn, upstream_id: int | None, kind: str, project: str) -> RunInput:
    upstream = runs.get_run(conn, upstream_id) if upstream_id is not None else None
    if upstream is None or upstream["project"] != project:
        return RunInput(kind, None, problem=f"upstream run {upstream_id} was not found")
    if runs.is_purged(upstream.get("initial_state")):
        return RunInput(
            kind, None, upstream_run_id=upstream_id, problem=f"upstream run {upstream_id} {PURGED}"
        )
    if kind == "success":
        state = dict(upstream.get("final_state") or {})
    else:
        state = dict(upstream.get("initial_state") or {})
        state["error"] = upstream.get("log") or ""
    return RunInput(kind, state, message_id=upstream.get("message_id"), upstream_run_id=upstream_id)


def plan_runs(conn, project: str, job: str, trigger: TaskTrigger) -> list[RunInput]:
    """Return the runs this task execution must perform, in order."""
    params = trigger.params or {}
    retry_of = params.get("retry_of")
    if retry_of not in (None, ""):
        if params.get("message") == "current":
            return [repeat_on_current_message(conn, int(retry_of), project=project, job=job)]
        return [repeat_input(conn, int(retry_of), project=project, job=job)]
    message_id = params.get("message_id")
    if message_id not in (None, ""):
        return message_inputs(conn, [int(message_id)], "manual", project=project)
    state = params.get("state")
    if isinstance(state, dict) and state:
        return [RunInput("manual", dict(state))]

    if trigger.kind == "message" and trigger.event_extras:
        return message_inputs(
            conn, message_ids_of(trigger.event_extras), "message", project=project
        )
    if trigger.kind in ("success", "failure") and trigger.run_type != "manual":
        folded = upstream_run_ids(trigger.event_extras)
        if folded:
            return [_upstream_input(conn, i, trigger.kind, project) for i in folded]
        upstream_id = parse_run_key(trigger.partition_key)
        if upstream_id is None:
            for extra in trigger.event_extras:
                upstream_id = parse_run_key(str(extra.get("run_key", ""))) or upstream_id
        return [_upstream_input(conn, upstream_id, trigger.kind, project)]
    if trigger.kind == "cron":
        cursor = runs.get_cursor_state(conn, project, job) or {}
        kind = "cron" if trigger.run_type == "scheduled" else "manual"
        return [RunInput(kind, cursor)]
    return [RunInput("manual", {})]


def upstream_run_ids(extras: tuple[dict[str, Any], ...]) -> list[int]:
    """Upstream run ids of events that stand for several runs (``runs_key``), each once."""
    return _unique_ints([value for extra in extras for value in extra.get("run_ids") or ()])


def unqueued_message_ids(extras: tuple[dict[str, Any], ...]) -> list[int]:
    """Message ids of events whose runs were not queued as pending ledger rows."""
    return message_ids_of(tuple(extra for extra in extras if not extra.get("queued")))


def claimed_inputs(conn, claimed: list[dict[str, Any]]) -> list[RunInput]:
    """Inputs of pending runs this task claimed: each already has its ledger row."""
    inputs = message_inputs(conn, [row["message_id"] for row in claimed], "message")
    for run_input, row in zip(inputs, claimed, strict=True):
        run_input.ledger_id = row["id"]
        run_input.message_id = row["message_id"]
    return inputs


def repeat_input(
    conn, run_id: int, *, project: str | None = None, job: str | None = None
) -> RunInput:
    """Input repeating ledger run ``run_id``: its trigger kind and initial state, ``retry_of`` set.

    With ``project`` and ``job``, a run of another job cannot start (exit code 3).
    """
    previous = runs.get_run(conn, run_id)
    if previous is None:
        return RunInput("manual", None, problem=f"run {run_id} was not found")
    if project is not None and (previous["project"], previous["job"]) != (project, job):
        other = f"{previous['project']}/{previous['job']}"
        return RunInput("manual", None, problem=f"run {run_id} is a run of {other}, not this job")
    if previous.get("initial_state") is None and previous.get("message_id") is not None:
        # A batched run claimed by a task whose process died before the run started: its input
        # is its message, as it would have been.
        [run_input] = message_inputs(
            conn, [previous["message_id"]], "message", project=previous["project"]
        )
        run_input.retry_of = run_id
        return run_input
    problem = None
    if previous.get("initial_state") is None:
        problem = f"run {run_id} never started, so there is no state to retry it with"
    elif runs.is_purged(previous["initial_state"]):
        problem = f"run {run_id} {PURGED}"
    return RunInput(
        previous.get("trigger") or "manual",
        previous.get("initial_state"),
        message_id=previous.get("message_id"),
        upstream_run_id=previous.get("upstream_run_id"),
        retry_of=run_id,
        problem=problem,
    )


def repeat_on_current_message(conn, run_id: int, *, project: str, job: str) -> RunInput:
    """Input repeating ledger run ``run_id`` on its message's current body, ``retry_of`` set."""
    previous = runs.get_run(conn, run_id)
    if previous is None or (previous["project"], previous["job"]) != (project, job):
        return repeat_input(conn, run_id, project=project, job=job)  # says what is wrong
    if previous.get("message_id") is None:
        return RunInput("manual", None, problem=f"run {run_id} has no message to run on")
    [run_input] = message_inputs(
        conn, [previous["message_id"]], previous.get("trigger") or "message", project=project
    )
    run_input.retry_of = run_id
    return run_input


def retry_inputs(
    conn, latest: list[dict[str, Any]], *, all_when_all_succeeded: bool = True
) -> list[RunInput]:
    """Inputs of a repeated task: the runs that did not succeed, or (if asked) all when all did.

    Clearing a task in Airflow repeats its runs with the initial states they had, each recorded
    as a new ledger row pointing at the one it retries.
    """
    chosen = [row for row in latest if row["status"] != "success"]
    if not chosen and all_when_all_succeeded:
        chosen = latest
    return [repeat_input(conn, row["id"]) for row in chosen]
