"""Helpers for spec tests: project folders written into tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest


@pytest.fixture
def write_project(tmp_path: Path):
    """Return write(yaml_text, files=[...], folder=".", name="project.yaml") -> spec path.

    Each of `files` is created (empty) relative to the project folder.
    """

    def write(
        text: str,
        files: Iterable[str] = (),
        folder: str = ".",
        name: str = "project.yaml",
    ) -> Path:
        root = tmp_path / folder
        root.mkdir(parents=True, exist_ok=True)
        for file in files:
            target = root / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("# a job\n")
        spec = root / name
        spec.write_text(textwrap.dedent(text))
        return spec

    return write
