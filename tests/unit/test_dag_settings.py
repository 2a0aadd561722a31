"""The task-side settings an auto job's delivery depends on, read from Airflow's configuration."""

from __future__ import annotations

import pytest

from openfn_airflow.dags.settings import auto_threshold


@pytest.mark.parametrize(("parallelism", "threshold"), [("4", 8), ("8", 16), ("1", 2)])
def test_auto_threshold_is_twice_the_task_slots_by_default(monkeypatch, parallelism, threshold):
    monkeypatch.delenv("AIRFLOW__OPENFN__AUTO_THRESHOLD", raising=False)
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", parallelism)
    assert auto_threshold() == threshold


def test_a_threshold_set_wins_over_the_task_slots(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "4")
    monkeypatch.setenv("AIRFLOW__OPENFN__AUTO_THRESHOLD", "7")
    assert auto_threshold() == 7
    monkeypatch.setenv("AIRFLOW__OPENFN__AUTO_THRESHOLD", "0")
    assert auto_threshold() == 8
