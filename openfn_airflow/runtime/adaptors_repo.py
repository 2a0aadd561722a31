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
from contextlib import contextmanager, suppress
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


#: After a background install failed, the same packages are not tried again for this long.
RETRY_AFTER_FAILURE = 300.0
_LAST_INSTALL = ".last-install.json"


def install_in_background(repo: Path, packages: Iterable[str]) -> bool:
    """Start installing the missing ``packages`` in a detached process; False when not started.

    Not started when nothing is missing, when another install holds the lock, or when the same
    packages failed less than ``RETRY_AFTER_FAILURE`` seconds ago (npm missing, no registry):
    a dag-processor parsing every few seconds must not start npm every time.
    """
    import sys
    import time

    repo = Path(repo)
    todo = missing(repo, packages)
    if not todo:
        return False
    with locked(repo, wait=False) as free:
        if not free:
            return False  # an install is under way; it or the next parse will see to these
    try:
        last = json.loads((repo / _LAST_INSTALL).read_text())
        if (
            last.get("error")
            and set(todo) <= set(last.get("packages", []))
            and time.time() - float(last.get("at", 0)) < RETRY_AFTER_FAILURE
        ):
            return False
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    env = npm_environment()
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    with open(repo / "install.log", "a") as log:
        subprocess.Popen(
            [sys.executable, "-m", __name__, str(repo), *todo],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the parse; a killed parser does not kill npm
            close_fds=True,
        )
    return True


def _main(argv: list[str]) -> int:
    """``python -m openfn_airflow.runtime.adaptors_repo REPO PACKAGE...``: the background install."""
    import time

    repo, packages = Path(argv[0]), argv[1:]
    record: dict[str, object] = {"at": time.time(), "packages": packages, "error": None}
    try:
        done = install(repo, packages)
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} installed: {', '.join(done) or 'nothing'}")
        status = 0
    except AdaptorsError as error:
        record["error"] = str(error)
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {error}")
        status = 1
    with suppress(OSError):
        repo.mkdir(parents=True, exist_ok=True)
        (repo / _LAST_INSTALL).write_text(json.dumps(record))
    return status


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
