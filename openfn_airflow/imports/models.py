"""What an import produces before it is written: jobs, triggers, connections and notes."""

from __future__ import annotations

from dataclasses import dataclass, field


class BadExport(Exception):
    """The export cannot be imported; nothing was written.

    `where` names the place in the export (``jobs.sync.expression``), `hint` what to do.
    """

    def __init__(self, where: str, message: str, hint: str = "") -> None:
        self.where, self.message, self.hint = where, message, hint
        text = f"{where}: {message}" if where else message
        super().__init__(f"{text} ({hint})" if hint else text)


def mapping_at(value: object, where: str) -> dict:
    """Return `value` as a mapping (None is an empty one), or raise BadExport naming `where`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadExport(where, f"expected a mapping, got a {type(value).__name__}")
    return value


@dataclass
class ImportedJob:
    """One job as it will be written: `jobs/<name>.js` plus its project.yaml entry."""

    name: str
    origin: str  # where it was in the export, e.g. "workflows.intake.jobs.fetch"
    code: str  # the expression / body, unchanged
    adaptor: str  # "@openfn/<name>@<version or latest>"
    trigger: str | None = None
    credential: str | None = None  # Airflow connection id
    settings: dict[str, object] = field(default_factory=dict)  # enabled, autoprocess

    @property
    def file(self) -> str:
        return f"jobs/{self.name}.js"


@dataclass
class Connection:
    """An Airflow connection the imported jobs need: one per credential of the export."""

    conn_id: str
    origin: str  # the credential's name in the export
    fields: tuple[str, ...] = ()  # field names the export listed (never their values)
    jobs: list[str] = field(default_factory=list)


@dataclass
class ImportedProject:
    """A whole import: written by `writer.write_project`, nothing else decides the output."""

    name: str
    source_format: str  # "OpenFn v1", "Lightning" or "Lightning (v2 format)"
    triggers: dict[str, dict[str, object]] = field(default_factory=dict)
    jobs: list[ImportedJob] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    #: What did not carry over, or carried over differently: each a sentence for the user.
    notes: list[str] = field(default_factory=list)
    #: (what, name in the export, name here) for every name that had to change.
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
