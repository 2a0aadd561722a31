"""The export file on disk: its default project name and the job code it holds or points at."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openfn_airflow.imports.models import BadExport

_FILE_SCHEME = "file://"


@dataclass(frozen=True)
class Source:
    """The export file being imported."""

    file: Path

    @property
    def default_name(self) -> str:
        """A project name when the export has none: the file's name, or its folder's."""
        stem = self.file.stem
        if stem in ("project", "spec") or not stem:
            return self.file.absolute().parent.name
        return stem

    def code(self, value: object, where: str) -> str:
        """Return a job's code: inline text, `file://<relative path>`, or {content, path}."""
        if isinstance(value, dict):  # the deploy format: {path: x.js, content: "..."}
            content = value.get("content")
            value = content if isinstance(content, str) and content.strip() else value.get("path")
            if isinstance(value, str) and value and not value.startswith(_FILE_SCHEME):
                value = _FILE_SCHEME + value
        if value is None or (isinstance(value, str) and not value.strip()):
            raise BadExport(where, "the job has no code", _NO_CODE_HINT)
        if not isinstance(value, str):
            raise BadExport(where, f"expected the job's code as text, got a {type(value).__name__}")
        if value.strip().startswith(_FILE_SCHEME) and "\n" not in value.strip():
            return self._read_relative(value.strip()[len(_FILE_SCHEME) :], where)
        return value

    def _read_relative(self, relative: str, where: str) -> str:
        root = self.file.absolute().parent.resolve()
        target = (root / relative).resolve()
        # An export is someone else's file: it may only point at files beside it.
        if not target.is_relative_to(root):
            raise BadExport(
                where,
                f"file://{relative} is outside the export's folder",
                "keep the job files beside the exported project.yaml",
            )
        try:
            text = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BadExport(
                where,
                f"cannot read file://{relative}: {getattr(error, 'strerror', None) or error}",
                "put the job's file beside the exported project.yaml",
            ) from None
        if not text.strip():
            raise BadExport(where, f"file://{relative} is empty", _NO_CODE_HINT)
        return text


_NO_CODE_HINT = "export the project again with its job code, or write the code in before importing"
