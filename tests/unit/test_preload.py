"""The plugin's listener preloads a job task's modules in Airflow's job processes only."""

from __future__ import annotations

import logging

import pytest

from openfn_airflow.dags import preload
from openfn_airflow.plugin.declaration import OpenFnPlugin


class Job:  # what on_starting gets in the scheduler, the dag-processor and the triggerer
    pass


class TaskRunnerMarker:  # what it gets in a task process
    pass


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    made: list[str] = []
    monkeypatch.setattr(preload, "preload_task_modules", lambda: made.append("preload") or 1.0)
    return made


def test_the_plugin_registers_the_listener():
    assert any(isinstance(x, preload.TaskModulesPreload) for x in OpenFnPlugin.listeners)


def test_a_job_process_preloads(calls):
    preload.TaskModulesPreload().on_starting(component=Job())
    assert calls == ["preload"]


def test_a_task_process_does_not(calls):
    preload.TaskModulesPreload().on_starting(component=TaskRunnerMarker())
    assert calls == []


def test_switched_off_it_does_not(calls, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__PRELOAD_TASK_MODULES", "False")
    preload.TaskModulesPreload().on_starting(component=Job())
    assert calls == []


def test_a_failed_preload_is_logged_and_the_process_starts(monkeypatch, caplog):
    def broken() -> float:
        raise ImportError("no psycopg")

    monkeypatch.setattr(preload, "preload_task_modules", broken)
    with caplog.at_level(logging.ERROR, logger=preload.__name__):
        preload.TaskModulesPreload().on_starting(component=Job())
    assert "Could not preload" in caplog.text


def test_preloading_imports_the_task_modules():
    import sys

    assert preload.preload_task_modules() >= 0
    assert all(name in sys.modules for name in preload.TASK_MODULES)
