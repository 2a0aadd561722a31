"""Turning export names into valid job, trigger, project and connection names, each unique."""

from __future__ import annotations

import re
import unicodedata

from openfn_airflow.spec.fields import NAME_PATTERN
from openfn_airflow.spec.projects import MAX_PROJECT_NAME, PROJECT_NAME_PATTERN

#: A job name becomes part of a DAG id (openfn__<project>__<job>, at most 250 characters) and
#: of a file name (jobs/<job>.js); 100 leaves room for any valid project name.
MAX_NAME = 100


def sanitize(text: str, allowed: str = r"A-Za-z0-9_.-", fallback: str = "job") -> str:
    """Return `text` with accents dropped, every other disallowed run made one '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(f"[^{allowed}]+", "-", ascii_text.strip())
    cleaned = re.sub(r"^[^A-Za-z0-9]+", "", cleaned)[:MAX_NAME].rstrip("-.")
    return cleaned or fallback


def project_name(text: str) -> str:
    """Return a valid project name (letters, digits, '-', '_') for `text`."""
    name = sanitize(text, r"A-Za-z0-9_-", "imported")[:MAX_PROJECT_NAME].rstrip("-")
    assert PROJECT_NAME_PATTERN.fullmatch(name)
    return name


class NameTable:
    """Valid, unique names for one kind of entry (jobs, triggers or connections).

    The same export name always gets the same name here; names that had to change are
    kept in `renamed` so the report can list them.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.renamed: list[tuple[str, str, str]] = []
        self._taken: set[str] = set()
        self._by_key: dict[object, str] = {}

    def add(self, wanted: str, key: object = None, original: str | None = None) -> str:
        """Return the name for `wanted` (looked up again by `key`, default `wanted`).

        `original` is the name the export gave (default `wanted`), listed when it changed.
        """
        key = wanted if key is None else key
        if key in self._by_key:
            return self._by_key[key]
        base = sanitize(wanted, fallback=self.kind)
        name, counter = base, 2
        # Job files live side by side in jobs/: names differing only in case would collide
        # on a case-insensitive file system.
        while name.lower() in self._taken:
            name, counter = f"{base}-{counter}", counter + 1
        assert NAME_PATTERN.fullmatch(name)
        self._taken.add(name.lower())
        self._by_key[key] = name
        original = wanted if original is None else original
        if name != original:
            self.renamed.append((self.kind, original, name))
        return name

    def get(self, key: object) -> str | None:
        return self._by_key.get(key)
