"""The adaptors repository every test shares: installed once per machine, then reused.

``adaptors_repo()`` returns a folder laid out as OpenFn's linker expects (``name_version``
aliases) holding two versions each of language-common and language-http. The first call on a
machine runs npm against the registry (about a minute); later calls only check the folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from openfn_airflow.runtime import adaptors_repo as repository

#: What the shared repository holds: two versions of each, so tests can pin them side by side.
PACKAGES = (
    "@openfn/language-common@3.3.4",
    "@openfn/language-common@3.2.3",
    "@openfn/language-http@7.2.10",
    "@openfn/language-http@6.4.3",
)


def adaptors_path() -> Path:
    """Where the shared repository lives (``OPENFN_TEST_ADAPTORS`` moves it)."""
    configured = os.environ.get("OPENFN_TEST_ADAPTORS")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "openfn-airflow" / "test-adaptors"


def adaptors_repo() -> Path:
    """The shared repository with ``PACKAGES`` installed; skips (fails under CI) without npm."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js 20+ and npm are needed for the JavaScript job tests")
        pytest.skip("Node.js 20+ and npm are needed for the JavaScript job tests")
    path = adaptors_path()
    repository.install(path, PACKAGES)
    return path
