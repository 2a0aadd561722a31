"""Adaptor names of an export written as this project's exact `@openfn/<name>@<version>`."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: OpenFn's own default adaptor (Lightning creates jobs with it).
DEFAULT_ADAPTOR = "@openfn/language-common"
_EXACT = re.compile(r"v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)")


@dataclass(frozen=True)
class Adaptor:
    """The adaptor to write, and a sentence for the notes when it is not what the export said."""

    value: str
    note: str | None = None

    @property
    def notes(self) -> list[str]:
        return [self.note] if self.note else []


def read_adaptor(raw: object, job: str) -> Adaptor:
    """Return the adaptor for `raw` (e.g. `language-http@v4.2.1`) of the job named `job`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Adaptor(
            f"{DEFAULT_ADAPTOR}@latest",
            f"job {job}: the export names no adaptor; {DEFAULT_ADAPTOR}@latest is written "
            "(pin the version the job was written for)",
        )
    text = str(raw).strip()
    name, version = _split(text)
    if not name.startswith("@"):
        name = f"@openfn/{name}"  # v1 wrote "language-http"; the npm package is scoped
    notes = []
    if not name.startswith("@openfn/"):
        notes.append(f"{name} is not an @openfn adaptor, and only @openfn/* adaptors run here")
    exact = _EXACT.fullmatch(version or "")
    if exact:
        value = f"{name}@{exact.group(1)}"
    else:
        value = f"{name}@latest"
        said = {None: "no version", "latest": "@latest"}.get(version, f"version {version!r}")
        notes.append(
            f"adaptor {text} has {said}, written as {value}: the spec resolves it to the newest "
            "known version when it loads; pin the exact version the job was written for"
        )
    return Adaptor(value, f"job {job}: " + "; ".join(notes) if notes else None)


def _split(text: str) -> tuple[str, str | None]:
    """Split `@scope/name@version` / `name@version` / `name` at the version's '@'."""
    at = text.find("@", 1)
    if at == -1:
        return text, None
    return text[:at], text[at + 1 :].strip() or None
