"""The adaptors repository: OpenFn adaptors installed side by side as ``name_version`` aliases.

The folder is laid out as OpenFn's linker expects: ``<repo>/package.json`` depends on
``"@openfn/language-http_7.2.10": "npm:@openfn/language-http@7.2.10"``, so that version's module
is at ``<repo>/node_modules/@openfn/language-http_7.2.10``. Two versions of one adaptor live
side by side. Installs hold an exclusive lock on ``<repo>/.lock`` so two processes (the CLI, a
dag-processor, a test) never run npm into the same folder at once. No Airflow import here.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: ``@scope/name@version`` or ``name@version``; the version is anything after the last ``@``.
_PACKAGE = re.compile(
    r"^(?P<name>(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*)@(?P<version>[^@/\s]+)$"
)
#: Seconds one ``npm install`` may take before it is given up.
INSTALL_TIMEOUT = 600.0
NODE_HINT = (
    "Install Node.js 20 or newer with npm (Debian: apt-get install nodejs npm), "
    "then run: openfn-airflow adaptors install"
)


#: The only variables of this process npm sees besides PATH and HOME.
_PASSED = (
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "npm_config_registry",
    "npm_config_cafile",
)


class AdaptorsError(Exception):
    """Installing into the repository failed; the message says why and what to do."""


class NpmMissing(AdaptorsError):
    """There is no ``npm`` on PATH."""


def split(package: str) -> tuple[str, str]:
    """Split ``@openfn/language-http@7.2.10`` into its name and version."""
    match = _PACKAGE.match(package)
    if match is None:
        raise ValueError(f"{package!r} is not a package@version")
    return match["name"], match["version"]


def alias(package: str) -> str:
    """The alias a version is installed under: ``@openfn/language-http_7.2.10``."""
    name, version = split(package)
    return f"{name}_{version}"


def module_path(repo: Path, package: str) -> Path:
    """Where the linker loads ``package`` from."""
    return Path(repo) / "node_modules" / alias(package)


def installed(repo: Path) -> set[str]:
    """The ``name@version`` packages the repository holds, installed and complete."""
    manifest = Path(repo) / "package.json"
    try:
        dependencies = json.loads(manifest.read_text()).get("dependencies") or {}
    except (OSError, ValueError):
        return set()
    found = set()
    for key in dependencies:
        name, _, version = key.rpartition("_")
        package = f"{name}@{version}"
        if not name or _PACKAGE.match(package) is None:
            continue  # not one of our aliases
        # npm writes the module's package.json once its files are there: without it, or with
        # another version in it, the install broke or the folder was edited by hand.
        try:
            meta = json.loads((module_path(repo, package) / "package.json").read_text())
        except (OSError, ValueError):
            continue
        if meta.get("version") == version:
            found.add(package)
    return found


def missing(repo: Path, packages: Iterable[str]) -> list[str]:
    """Those of ``packages`` the repository does not hold, in the order given, once each."""
    have = installed(repo)
    out: list[str] = []
    for package in packages:
        if package not in have and package not in out:
            out.append(package)
    return out


@contextmanager
def locked(repo: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the repository's install lock; with ``wait=False`` yield False when another holds it."""
    repo = Path(repo)
    repo.mkdir(parents=True, exist_ok=True)
    with open(repo / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def npm() -> str:
    """The path of ``npm``, or ``NpmMissing`` naming what to install."""
    path = shutil.which("npm")
    if path is None or shutil.which("node") is None:
        raise NpmMissing(f"Node.js and npm are not installed (no npm on PATH). {NODE_HINT}")
    return path


def npm_environment() -> dict[str, str]:
    """What npm runs with: no secret of this process (no credential, no connection string)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    # npm needs a home for its cache; nothing else from this process's environment reaches it.
    env["HOME"] = os.environ.get("HOME") or str(Path.home())
    # What reaching the registry may take: the machine's CA bundle (a TLS-inspecting gateway
    # makes npm fail with SELF_SIGNED_CERT_IN_CHAIN without it) and its proxy.
    for name in _PASSED:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _ensure_manifest(repo: Path) -> None:
    manifest = repo / "package.json"
    if not manifest.exists():
        manifest.write_text(
            json.dumps(
                {
                    "name": "openfn-airflow-adaptors",
                    "private": True,
                    "description": "OpenFn adaptors installed by openfn-airflow, one alias per version.",
                    "dependencies": {},
                },
                indent=2,
            )
            + "\n"
        )


def install(repo: Path, packages: Iterable[str], *, timeout: float = INSTALL_TIMEOUT) -> list[str]:
    """Install those of ``packages`` not yet in the repository; return the ones installed.

    Waits for the repository's lock, so a second caller finds the first one's work done.
    """
    repo = Path(repo)
    wanted = list(dict.fromkeys(packages))
    for package in wanted:
        split(package)  # a malformed name is the caller's bug: say so before running npm
    if not missing(repo, wanted):
        return []
    executable = npm()
    with locked(repo):
        todo = missing(repo, wanted)
        if not todo:
            return []
        _ensure_manifest(repo)
        command = [
            executable,
            "install",
            "--prefix",
            str(repo),
            "--no-audit",
            "--no-fund",
            "--save",
            "--save-exact",
            "--loglevel=error",
            *(f"{alias(p)}@npm:{p}" for p in todo),
        ]
        try:
            done = subprocess.run(
                command,
                cwd=repo,
                env=npm_environment(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise AdaptorsError(
                f"npm install of {', '.join(todo)} took more than {timeout:.0f} s; "
                "check the machine reaches the npm registry and try again"
            ) from error
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            tail = "\n".join(detail[-8:])
            raise AdaptorsError(f"npm install of {', '.join(todo)} failed:\n{tail}")
        left = missing(repo, todo)
        if left:
            raise AdaptorsError(f"npm install finished but {', '.join(left)} is not in {repo}")
        return todo
