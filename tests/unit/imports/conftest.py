"""Helpers for import tests: run `openfn-airflow import` on an export and read what it wrote."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from openfn_airflow.imports.command import run
from openfn_airflow.spec.adaptors import StaticCatalog, using_catalog

#: Versions published on npm (../shared/reference/openfn-js.md), the last one the latest: the
#: import's spec check must not depend on the registry being reachable from a unit test.
CATALOG = {
    "@openfn/language-common": ["3.2.3", "3.3.4"],
    "@openfn/language-http": ["3.1.5", "3.2.0", "4.0.0", "6.4.0", "6.4.3", "7.2.10"],
}


@pytest.fixture(autouse=True)
def catalog():
    """Check imported specs against CATALOG; the fixture's value records what was asked."""
    with using_catalog(StaticCatalog(CATALOG)) as fake:
        yield fake


@dataclass
class Imported:
    code: int
    out: Path
    stdout: str
    stderr: str

    @property
    def spec(self) -> dict:
        return yaml.safe_load((self.out / "project.yaml").read_text())

    @property
    def notes(self) -> str:
        return (self.out / "IMPORT-NOTES.md").read_text()

    @property
    def connections(self) -> str:
        return (self.out / "connections.md").read_text()

    def files(self) -> dict[str, bytes]:
        """Every file written, by its path relative to the output folder."""
        return {
            path.relative_to(self.out).as_posix(): path.read_bytes()
            for path in sorted(self.out.rglob("*"))
            if path.is_file()
        }


@pytest.fixture
def import_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Return do(path, out=None) -> Imported, running the import command on `path`."""

    def do(path: Path | str, out: Path | None = None) -> Imported:
        out = out or tmp_path / "out"
        code = run(argparse.Namespace(path=str(path), out=str(out)))
        captured = capsys.readouterr()
        return Imported(code, out, captured.out, captured.err)

    return do


@pytest.fixture
def write_export(tmp_path: Path):
    """Return write(text, name="project.yaml") -> path of an export file in its own folder."""

    def write(text: str, name: str = "project.yaml") -> Path:
        folder = tmp_path / "export"
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_text(text)
        return path

    return write
