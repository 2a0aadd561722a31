"""Checks across entries: names that refer to triggers and jobs, and success/failure loops."""

from __future__ import annotations

from dataclasses import dataclass, field

from openfn_airflow.spec.chains import find_cycles
from openfn_airflow.spec.jobs import JobDraft
from openfn_airflow.spec.models import Trigger
from openfn_airflow.spec.problems import Problems, SpecPath, did_you_mean


@dataclass
class Entries:
    """The triggers and jobs of a spec, each read on its own, not yet checked against each other."""

    named_triggers: set[str] = field(default_factory=set)  # keys under triggers:, valid or not
    job_names: set[str] = field(default_factory=set)  # keys under jobs:, valid or not
    triggers: dict[str, Trigger] = field(default_factory=dict)  # read cleanly, named and inline
    trigger_paths: dict[str, SpecPath] = field(default_factory=dict)
    drafts: dict[str, JobDraft] = field(default_factory=dict)

    def trigger_of(self, draft: JobDraft) -> Trigger | None:
        """Return the trigger `draft` listens to, when the reference resolves to a sound one."""
        if draft.trigger is None:
            return None
        if draft.inline_trigger is not None:
            if self.trigger_paths.get(draft.name) != ("jobs", draft.name, "trigger"):
                return None  # clashes with a named trigger
        elif draft.trigger not in self.named_triggers:
            return None
        return self.triggers.get(draft.trigger)

    def upstream_of(self, draft: JobDraft) -> str | None:
        trigger = self.trigger_of(draft)
        return trigger.upstream if trigger else None


def check_references(entries: Entries, problems: Problems, notes: Problems) -> set[str]:
    """Record every broken reference and success/failure loop; return the jobs in loops.

    A trigger on an archived job is no mistake (archiving a job must not break the jobs that
    follow it: they stay, and run when started by hand), so it is a note, not a problem.
    """
    _check_upstreams(entries, problems, notes)
    for draft in entries.drafts.values():
        _check_trigger_name(draft, entries, problems)
        _check_batched(draft, entries, problems)
    return _check_cycles(entries, problems)


def _check_upstreams(entries: Entries, problems: Problems, notes: Problems) -> None:
    users: dict[str, list[str]] = {}  # trigger -> jobs (not archived) listening to it
    for draft in entries.drafts.values():
        if not draft.archived and (trigger := entries.trigger_of(draft)):
            users.setdefault(trigger.name, []).append(draft.name)
    for name, trigger in entries.triggers.items():
        upstream = trigger.upstream
        if upstream is None:
            continue
        path = (*entries.trigger_paths[name], trigger.kind)
        if upstream not in entries.job_names:
            hint = did_you_mean(upstream, entries.job_names, listing="jobs in this project")
            problems.add(path, f'unknown job "{upstream}"', hint)
        elif (job := entries.drafts.get(upstream)) and job.archived and users.get(name):
            followers = ", ".join(users[name])
            notes.add(
                path,
                f'job "{upstream}" is archived, so this trigger never fires',
                f"{followers} can still be run by hand; to chain again, remove archived: true "
                f"from {upstream}, or give {followers} another trigger",
            )


def _check_trigger_name(draft: JobDraft, entries: Entries, problems: Problems) -> None:
    if draft.trigger is None or draft.inline_trigger is not None:
        return
    if draft.trigger in entries.named_triggers:
        return
    owner = entries.drafts.get(draft.trigger)
    if owner is not None and owner.inline_trigger is not None:
        hint = (
            f'"{draft.trigger}" is the inline trigger of job {draft.trigger}: '
            "to share it, move it under triggers: and refer to it by name from both jobs"
        )
    else:
        hint = did_you_mean(
            draft.trigger, entries.named_triggers, listing="triggers in this project"
        )
    problems.add(("jobs", draft.name, "trigger"), f'unknown trigger "{draft.trigger}"', hint)


def _check_batched(draft: JobDraft, entries: Entries, problems: Problems) -> None:
    if draft.runs != "batched":
        return
    path = ("jobs", draft.name, "runs")
    hint = "use runs: auto (the default), or give the job a trigger with criteria"
    if draft.trigger is None:
        problems.add(
            path, "batched runs need a message-filter trigger, and this job has no trigger", hint
        )
    elif (trigger := entries.trigger_of(draft)) and trigger.kind != "message":
        problems.add(
            path,
            f'batched runs need a message-filter trigger, and "{trigger.name}" is a {trigger.kind} trigger',
            hint,
        )


def _check_cycles(entries: Entries, problems: Problems) -> set[str]:
    drafts = entries.drafts
    upstream_of: dict[str, str] = {}
    for draft in drafts.values():
        upstream = entries.upstream_of(draft)
        if not draft.archived and upstream in drafts and not drafts[upstream].archived:
            upstream_of[draft.name] = upstream
    in_cycles: set[str] = set()
    for cycle in find_cycles(upstream_of):
        in_cycles.update(cycle)
        first = cycle[0]
        path = ("jobs", first, "trigger")
        if len(cycle) == 2:
            trigger = entries.trigger_of(drafts[first])
            kind = trigger.kind if trigger else "success or failure"
            problems.add(
                path,
                f'job "{first}" runs on its own {kind}',
                "a job cannot trigger itself: give it another trigger",
            )
        else:
            problems.add(
                path,
                f"success/failure triggers form a cycle: {' -> '.join(cycle)}",
                "each job runs when the one before it ends, forever; give one of them another trigger",
            )
    return in_cycles
