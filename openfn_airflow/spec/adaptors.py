"""Which adaptor versions exist: the catalog a JavaScript job's ``adaptor:`` is checked against.

A catalog answers, for a package name, the versions that exist and which one is ``latest``. The
real one asks, in order, the adaptors repository (what is installed answers without the network)
and the npm registry (``npm view``, with a timeout, its answers cached in the repository so a
dag-processor does not ask npm at every parse). No Airflow import: the Airflow side sets the
process's catalog with ``set_default_catalog``; tests use ``using_catalog`` with a fake one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

#: An exact semantic version (``7.2.10``, ``1.0.0-next.3``).
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
#: Adaptor names worth suggesting when a name is mistyped (OpenFn's common adaptors).
KNOWN_ADAPTORS = tuple(
    f"@openfn/language-{name}"
    for name in (
        "common",
        "http",
        "fhir",
        "openmrs",
        "mssql",
        "collections",
        "dhis2",
        "postgresql",
        "salesforce",
        "googlesheets",
        "commcare",
        "kobotoolbox",
        "mysql",
        "odk",
        "openhim",
        "primero",
        "surveycto",
    )
)
REGISTRY_TIMEOUT = 15.0  # seconds one ``npm view`` may take
CACHE_SECONDS = 3600.0  # how long a registry answer is reused
CACHE_FILE = ".registry-cache.json"


@dataclass(frozen=True)
class Versions:
    """What a catalog knows of one package: its versions, or why it cannot say."""

    versions: tuple[str, ...] = ()
    latest: str | None = None
    #: The package does not exist (the registry said 404).
    unknown: bool = False
    #: Why the catalog could not find out (the registry unreachable, no npm); None when it could.
    error: str | None = None


class Catalog(Protocol):
    def versions(self, name: str) -> Versions:
        """What exists of package ``name``."""
        ...

    def installed(self) -> set[str]:
        """``name@version`` packages already installed (answers without asking anyone)."""
        ...


@dataclass
class StaticCatalog:
    """A catalog from a mapping ``name -> versions`` (the last is ``latest``): tests, offline use."""

    packages: Mapping[str, Iterable[str]] = field(default_factory=dict)
    installed_packages: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)

    def versions(self, name: str) -> Versions:
        self.asked.append(name)
        if name not in self.packages:
            return Versions(unknown=True)
        versions = tuple(self.packages[name])
        return Versions(versions, versions[-1] if versions else None)

    def installed(self) -> set[str]:
        return set(self.installed_packages)


def _installed_in(repo: Path) -> set[str]:
    from openfn_airflow.runtime.adaptors_repo import installed  # no Airflow there either

    return installed(repo)


class RepositoryCatalog:
    """The adaptors repository first, then the npm registry (cached in the repository)."""

    def __init__(
        self,
        repo: str | Path,
        *,
        registry: bool = True,
        timeout: float = REGISTRY_TIMEOUT,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.repo = Path(repo)
        self.registry = registry
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        #: Answers this process already has, with when they were had: a long-lived process (the
        #: api-server) sees a new ``latest`` once the cache time is over.
        self._answers: dict[str, tuple[float, Versions]] = {}

    def installed(self) -> set[str]:
        return _installed_in(self.repo)

    def versions(self, name: str) -> Versions:
        kept = self._answers.get(name)
        if kept is not None and time.time() - kept[0] < self.cache_seconds:
            return kept[1]
        cached = self._cached(name)
        if cached is not None and time.time() - cached[0] < self.cache_seconds:
            answer = cached[1]
        elif not self.registry:
            answer = Versions(error="the npm registry is not asked here")
        else:
            answer = self._ask_registry(name)
            if answer.error is None:
                self._store(name, answer)
            elif cached is not None:
                answer = cached[1]  # a stale answer beats none while the registry is away
        self._answers[name] = (time.time(), answer)
        return answer

    def _ask_registry(self, name: str) -> Versions:
        npm = shutil.which("npm")
        if npm is None:
            return Versions(error="npm is not installed (Node.js 20+ with npm is needed)")
        from openfn_airflow.runtime.adaptors_repo import npm_environment

        try:
            done = subprocess.run(
                [
                    npm,
                    "view",
                    name,
                    "versions",
                    "dist-tags",
                    "--json",
                    "--fetch-retries=0",
                    f"--fetch-timeout={int(self.timeout * 1000)}",
                ],
                env=npm_environment(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Versions(error=f"the npm registry did not answer within {self.timeout:.0f} s")
        except OSError as error:
            return Versions(error=f"npm could not be started ({error})")
        try:
            data = json.loads(done.stdout or "null")
        except ValueError:
            data = None
        if done.returncode != 0:
            code = (data or {}).get("error", {}).get("code") if isinstance(data, dict) else None
            if code == "E404" or "E404" in done.stderr:
                return Versions(unknown=True)
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return Versions(error=f"the npm registry could not be reached ({last})")
        if not isinstance(data, dict):
            return Versions(error="the npm registry gave an answer npm view could not read")
        versions = data.get("versions") or []
        if isinstance(versions, str):
            versions = [versions]
        latest = (data.get("dist-tags") or {}).get("latest")
        return Versions(tuple(str(v) for v in versions), str(latest) if latest else None)

    def _cache_path(self) -> Path:
        return self.repo / CACHE_FILE

    def _read_cache(self) -> dict:
        try:
            data = json.loads(self._cache_path().read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _cached(self, name: str) -> tuple[float, Versions] | None:
        entry = self._read_cache().get(name)
        if not isinstance(entry, dict):
            return None
        try:
            when = float(entry["at"])
            if entry.get("unknown"):
                return when, Versions(unknown=True)
            return when, Versions(tuple(entry["versions"]), entry.get("latest"))
        except (KeyError, TypeError, ValueError):
            return None

    def _store(self, name: str, answer: Versions) -> None:
        data = self._read_cache()
        data[name] = {
            "at": time.time(),
            "versions": list(answer.versions),
            "latest": answer.latest,
            "unknown": answer.unknown,
        }
        try:
            self.repo.mkdir(parents=True, exist_ok=True)
            part = self._cache_path().with_name(f"{CACHE_FILE}.{os.getpid()}")
            part.write_text(json.dumps(data))
            part.replace(self._cache_path())  # atomic: a reader never sees half a file
        except OSError:
            pass  # a read-only repository: the answer is still used, just not kept


def default_repository() -> Path:
    """The repository a process uses when nobody set one: ``$AIRFLOW_HOME/openfn/adaptors``.

    ``[openfn] adaptors_path`` is read from Airflow's configuration only when this process has
    already imported it (the spec layer never imports Airflow); else from the environment.
    """
    airflow_conf = sys.modules.get("airflow.configuration")
    if airflow_conf is not None:
        try:
            configured = str(airflow_conf.conf.get("openfn", "adaptors_path", fallback="") or "")
            home = str(airflow_conf.AIRFLOW_HOME)
        except Exception:  # a half-imported or odd configuration: fall back to the environment
            pass
        else:
            if configured.strip():
                return Path(os.path.expanduser(configured.strip()))
            return Path(home) / "openfn" / "adaptors"
    configured = os.environ.get("AIRFLOW__OPENFN__ADAPTORS_PATH", "").strip()
    if configured:
        return Path(os.path.expanduser(configured))
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return Path(home) / "openfn" / "adaptors"


_process_catalog: Catalog | None = None
_current: ContextVar[Catalog | None] = ContextVar("openfn_adaptor_catalog", default=None)


def set_default_catalog(catalog: Catalog | None) -> None:
    """Set the catalog this process checks specs against (None: back to the default)."""
    global _process_catalog
    _process_catalog = catalog


def current_catalog() -> Catalog:
    """The catalog in force: ``using_catalog``'s, else the process's, else the default one."""
    global _process_catalog
    catalog = _current.get() or _process_catalog
    if catalog is None:
        catalog = _process_catalog = RepositoryCatalog(default_repository())
    return catalog


@contextmanager
def using_catalog(catalog: Catalog) -> Iterator[Catalog]:
    """Check the specs loaded inside the block against ``catalog``."""
    token = _current.set(catalog)
    try:
        yield catalog
    finally:
        _current.reset(token)


def _version_key(version: str) -> tuple:
    """Sort versions as semver does (``10.0.0`` after ``9.0.0``; pre-releases first)."""
    core, _, pre = version.partition("-")
    numbers = tuple(int(part) if part.isdigit() else 0 for part in core.split("+")[0].split("."))
    return (numbers, pre == "", pre)


def _shown(versions: Iterable[str], count: int = 8) -> str:
    ordered = sorted(set(versions), key=_version_key)
    head = "" if len(ordered) <= count else "..., "
    return head + ", ".join(ordered[-count:])


def read_adaptors(
    mapping: Mapping[str, object],
    path: tuple[str | int, ...],
    problems: object,
    *,
    language: str,
    check_versions: bool,
) -> tuple[str, ...]:
    """Read a job's ``adaptor`` / ``adaptors``; return exact ``name@version`` packages.

    ``problems`` is the spec's ``Problems``; ``@latest`` is resolved here, once.
    """
    from openfn_airflow.spec.fields import describe
    from openfn_airflow.spec.problems import Problems

    assert isinstance(problems, Problems)
    keys = [key for key in ("adaptor", "adaptors") if key in mapping]
    if language != "javascript":
        for key in keys:
            problems.add(
                (*path, key),
                "a Python job does not take an adaptor",
                "Python jobs import their adaptors (from openfn_airflow.runtime.adaptors.http "
                f"import get): remove {key}:, or write the job as a .js file",
            )
        return ()
    example = '"@openfn/language-http@7.2.10"'
    if not keys:
        problems.add(
            (*path, "adaptor"),
            'a JavaScript job needs an adaptor: required key "adaptor" is missing',
            f"add adaptor: {example} (an exact version, or @latest), or adaptors: [...]",
        )
        return ()
    if len(keys) == 2:
        problems.add(
            path,
            "adaptor and adaptors are both set",
            "keep one: adaptor: for one package, adaptors: [...] for several",
        )
        return ()
    key = keys[0]
    raw = mapping[key]
    entries: list[tuple[tuple[str | int, ...], object]]
    if key == "adaptor":
        entries = [((*path, "adaptor"), raw)]
    elif isinstance(raw, list) and raw:
        entries = [((*path, "adaptors", index), value) for index, value in enumerate(raw)]
    else:
        problems.add(
            (*path, "adaptors"),
            f"expected a list of adaptor packages, got {describe(raw)}",
            f"e.g. adaptors: [{example}]",
        )
        return ()
    catalog = current_catalog()
    resolved: list[str] = []
    names: set[str] = set()
    for where, value in entries:
        package = _read_package(value, where, problems, catalog, check_versions)
        if package is None:
            continue
        name = package.rpartition("@")[0]
        if name in names:
            problems.add(
                where,
                f"{name} is named twice",
                "a job runs on one version of each adaptor: keep one",
            )
            continue
        names.add(name)
        resolved.append(package)
    return tuple(resolved)


_PACKAGE_FORM = re.compile(
    r"^(?P<name>@[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*)@(?P<version>.+)$"
)


def _read_package(
    value: object,
    where: tuple[str | int, ...],
    problems: object,
    catalog: Catalog,
    check_versions: bool,
) -> str | None:
    from openfn_airflow.spec.fields import describe
    from openfn_airflow.spec.problems import Problems, did_you_mean

    assert isinstance(problems, Problems)
    example = "e.g. @openfn/language-http@7.2.10"
    if not isinstance(value, str) or not value.strip():
        problems.add(where, f"expected an adaptor package, got {describe(value)}", example)
        return None
    match = _PACKAGE_FORM.match(value.strip())
    if match is None:
        bare = value.strip()
        hint = (
            f"add the version: {bare}@<version> ({example}, or {bare}@latest)"
            if re.fullmatch(r"@[\w.-]+/[\w.-]+", bare)
            else f"write @scope/name@version, {example}"
        )
        problems.add(where, f'"{value}" is not an adaptor package with its version', hint)
        return None
    name, version = match["name"], match["version"]
    if not name.startswith("@openfn/"):
        problems.add(
            where,
            f"{name} is not an OpenFn adaptor",
            "the runtime loads adaptors of the @openfn/ scope only, e.g. @openfn/language-http",
        )
        return None
    if version != "latest" and not EXACT_VERSION.match(version):
        problems.add(
            where,
            f'"{version}" is not an exact version',
            f"pin one version, e.g. {name}@7.2.10, or write {name}@latest "
            "(resolved once when the spec is loaded); ranges such as ^7 are not allowed",
        )
        return None
    if not check_versions:
        return value.strip()
    installed = catalog.installed()
    if version != "latest" and f"{name}@{version}" in installed:
        return f"{name}@{version}"  # installed: nothing to ask
    answer = catalog.versions(name)
    installed_versions = [p.rpartition("@")[2] for p in installed if p.rpartition("@")[0] == name]
    if answer.unknown:
        hint = did_you_mean(name, {*KNOWN_ADAPTORS, *(p.rpartition("@")[0] for p in installed)})
        problems.add(
            where,
            f"there is no adaptor {name} in the npm registry",
            hint or f"check the name with: npm view {name} versions",
        )
        return None
    if answer.error is not None:
        if version == "latest" and installed_versions:
            # The registry is away: the newest version installed here is the best answer.
            return f"{name}@{max(installed_versions, key=_version_key)}"
        problems.add(
            where,
            f"{name}@{version} is not installed and the available versions could not be "
            f"checked: {answer.error}",
            "install it with: openfn-airflow adaptors install (it needs the npm registry), "
            "or pin a version that is installed"
            + (f" ({_shown(installed_versions)})" if installed_versions else ""),
        )
        return None
    if version == "latest":
        latest = answer.latest or (
            max(answer.versions, key=_version_key) if answer.versions else None
        )
        if latest is None:
            problems.add(where, f"{name} has no published version", "pick another adaptor")
            return None
        return f"{name}@{latest}"
    if version not in answer.versions:
        close = did_you_mean(version, answer.versions)
        problems.add(
            where,
            f"{name} has no version {version}",
            " ".join(part for part in (close, f"versions: {_shown(answer.versions)}") if part),
        )
        return None
    return f"{name}@{version}"
