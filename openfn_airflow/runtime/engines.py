"""What runs a job's code: one small interface over the Python and the JavaScript engine.

The job task's protocol (``openfn_airflow.tasks``) opens one session per Airflow task and asks it
for one run per ledger row; it never knows which language the job is written in.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from .execution import RunResult, run_job


class CouldNotStart(Exception):
    """The engine cannot run this job at all (no Node, an adaptor not installed): exit 3.

    The message says what is missing and how to get it; it never holds a credential.
    """


@dataclass(frozen=True)
class JobCode:
    """Everything an engine needs to run one job, whatever the language."""

    file: str
    #: Exact adaptor packages (``@openfn/language-http@7.2.10``); JavaScript jobs only.
    adaptors: tuple[str, ...] = ()
    timeout: float | None = None  # seconds, per run
    memory_limit_mb: int | None = None
    console: bool = True
    test_mode: bool = False
    #: The adaptors repository (``[openfn] adaptors_path``); JavaScript jobs only.
    adaptors_path: str | None = None

    @property
    def language(self) -> str:
        return "javascript" if Path(self.file).suffix in (".js", ".mjs") else "python"


class Session(Protocol):
    """An opened job: runs it once per input, each run isolated from the others."""

    #: One line naming what runs the job (language, runtime, adaptor versions); every run's log
    #: opens with it and the ledger keeps it beside the run.
    ran_with: str

    def run(self, state: dict[str, Any] | None) -> RunResult:
        """Run the job on ``state`` (without ``configuration``); never raises."""
        ...


class Engine(Protocol):
    def open(
        self, code: JobCode, configuration: dict[str, Any] | None
    ) -> AbstractContextManager[Session]:
        """Prepare the job (raise ``CouldNotStart`` when it cannot run); closing ends it."""
        ...


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def python_ran_with() -> str:
    """What runs a Python job: Python, openfn-airflow and Airflow versions (no Airflow import)."""
    return (
        f"Python {platform.python_version()}, openfn-airflow {_version('openfn-airflow')},"
        f" Airflow {_version('apache-airflow')}"
    )


class _PythonSession:
    def __init__(self, code: JobCode, configuration: dict[str, Any] | None) -> None:
        self.code = code
        self.configuration = configuration
        self.ran_with = python_ran_with()

    def run(self, state: dict[str, Any] | None) -> RunResult:
        result = run_job(
            self.code.file,
            state or {},
            configuration=self.configuration,
            timeout=self.code.timeout,
            memory_limit_mb=self.code.memory_limit_mb,
            console=self.code.console,
            test_mode=self.code.test_mode,
        )
        result.log = f"Ran with {self.ran_with}\n{result.log}"
        return result


class PythonEngine:
    """Python job files, run in the task's own process (``runtime.run_job``)."""

    @contextmanager
    def open(self, code: JobCode, configuration: dict[str, Any] | None) -> Iterator[_PythonSession]:
        yield _PythonSession(code, configuration)


def engine_for(code: JobCode) -> Engine:
    """The engine for a job's language."""
    if code.language == "javascript":
        from .node import NodeEngine  # the JavaScript engine: a Node process per task

        return NodeEngine()
    return PythonEngine()
