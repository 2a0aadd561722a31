"""The settings standalone leaves under its ``AIRFLOW_HOME`` so the CLI beside it uses the same ones.

Standalone configures Airflow only through variables of its own child processes, so a command in
another terminal would otherwise fall back to ``~/airflow`` and SQLite. It writes
``<home>/openfn-standalone.json`` (mode 600: the database URL may hold a password); the CLI finds
the home of the checkout it is run in and takes from the file what its own environment does not set.
Nothing here imports Airflow: it runs before Airflow reads ``AIRFLOW_HOME`` at import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

FILE_NAME = "openfn-standalone.json"
HOME_FOLDER = ".airflow"
SQL_ALCHEMY_CONN = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
OPENFN_DATABASE_URL = "AIRFLOW__OPENFN__DATABASE_URL"

# Always written: what every command needs to reach the same database, projects and inbox URL.
REQUIRED = (
    "AIRFLOW_HOME",
    SQL_ALCHEMY_CONN,
    OPENFN_DATABASE_URL,
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__API__PORT",
)
# Written only when the user gave them to standalone: they change what a command reads or writes
# (inbox URL, webhook secrets' encryption, DAG bundles, [openfn] options such as adaptors_path).
PASSED_ON = (
    "AIRFLOW__API__BASE_URL",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
)
PASSED_ON_PREFIX = "AIRFLOW__OPENFN__"
# Applied together or not at all: a user's own database with the file's ledger URL would split
# Airflow's tables from ours.
DATABASE_KEYS = (SQL_ALCHEMY_CONN, OPENFN_DATABASE_URL)


def settings_for_cli(env: Mapping[str, str]) -> dict[str, str]:
    """The part of standalone's child environment that the CLI needs, and no more."""
    chosen = {key: env[key] for key in REQUIRED}
    for key, value in env.items():
        if value and (key in PASSED_ON or key.startswith(PASSED_ON_PREFIX)):
            chosen[key] = value
    return chosen


def write_settings(airflow_home: Path, env: Mapping[str, str]) -> Path:
    """Write ``settings_for_cli(env)`` to ``<airflow_home>/openfn-standalone.json`` (mode 600)."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    path = airflow_home / FILE_NAME
    partial = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(settings_for_cli(env), file, indent=2, sort_keys=True)
    os.chmod(partial, 0o600)  # O_CREAT's mode does not apply to a file left by a crash
    os.replace(partial, path)  # a command started meanwhile reads the old file or the new, whole
    return path


def find_home(cwd: Path, environ: Mapping[str, str]) -> Path | None:
    """The standalone home whose settings apply: ``$AIRFLOW_HOME`` when set, else the nearest
    ``.airflow`` of ``cwd`` or its parents; None when that home has no settings file."""
    configured = environ.get("AIRFLOW_HOME", "").strip()
    if configured:
        home = Path(configured).expanduser()
        return home if (home / FILE_NAME).is_file() else None
    for folder in (cwd, *cwd.parents):
        if (folder / HOME_FOLDER / FILE_NAME).is_file():
            return folder / HOME_FOLDER
    return None


def read_settings(home: Path) -> dict[str, str]:
    """The settings in ``home``'s file; empty when it cannot be read (the CLI then runs as before)."""
    try:
        stored = json.loads((home / FILE_NAME).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {str(key): str(value) for key, value in stored.items() if isinstance(value, str)}


def _is_set(environ: Mapping[str, str], key: str) -> bool:
    return bool(environ.get(key, "").strip())


def apply_settings(environ: MutableMapping[str, str], cwd: Path) -> Path | None:
    """Set in ``environ`` the standalone settings of ``cwd``'s checkout that it does not set itself.

    Returns the home used, or None when there is none. Variables already set win, and the two
    database URLs count as one setting.
    """
    home = find_home(cwd, environ)
    if home is None:
        return None
    settings = read_settings(home)
    if not settings:
        return None
    own_database = any(_is_set(environ, key) for key in DATABASE_KEYS)
    for key, value in settings.items():
        if key == "AIRFLOW_HOME":
            value = str(home)  # the home found, even when the checkout was moved since
        if _is_set(environ, key) or (own_database and key in DATABASE_KEYS):
            continue
        environ[key] = value
    return home
