"""Airflow's own history goes the way ``airflow db clean`` takes it, counted per table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from airflow_rows import AirflowRows

from openfn_airflow.airflow_db.cleanup import clean_airflow_tables
from openfn_airflow.maintenance import settings
from openfn_airflow.maintenance.operators import cutoff_days_ago

pytestmark = pytest.mark.integration

DAY = dt.timedelta(days=1)


@pytest.fixture
def rows(db_url: str) -> Iterator[AirflowRows]:
    made = AirflowRows(db_url)
    yield made
    made.remove()


def test_old_dag_runs_and_logs_go_and_recent_ones_stay(db_url, rows):
    dag_id, asset = rows.dag("job"), rows.asset("form")
    old_runs = [rows.dag_run(dag_id, 40 * DAY) for _ in range(3)]
    old_event = rows.event(asset, 40 * DAY, partition_key="k")
    apdr = rows.partition_run(dag_id, 40 * DAY, created_dag_run_id=old_runs[0])
    rows.consumed(old_runs[0], old_event)
    recent_run = rows.dag_run(dag_id, 2 * DAY)
    old_log, recent_log = rows.log_row(40 * DAY), rows.log_row(DAY)

    counts = clean_airflow_tables(cutoff_days_ago(30), batch_size=2, url=db_url)

    assert not any(rows.exists("dag_run", run) for run in old_runs)
    assert rows.exists("dag_run", recent_run)
    assert not rows.exists("log", old_log) and rows.exists("log", recent_log)
    # a deleted DAG run takes its consumed partition row and event links along (foreign keys)
    assert not rows.exists("asset_partition_dag_run", apdr)
    assert not rows.link_exists(old_runs[0], old_event)
    # asset events are left to the asset cleanup, which keeps what is still waited on
    assert rows.exists("asset_event", old_event)
    assert counts["dag_run"] >= 3 and counts["log"] >= 1
    assert "asset_event" not in counts and "dag" not in counts


def test_the_latest_scheduled_run_of_a_dag_is_kept(db_url, rows):
    dag_id = rows.dag("cron")
    older = rows.dag_run(dag_id, 50 * DAY, run_type="scheduled")
    latest = rows.dag_run(dag_id, 40 * DAY, run_type="scheduled")

    clean_airflow_tables(cutoff_days_ago(30), batch_size=100, url=db_url)

    # airflow db clean keeps each DAG's last scheduled run, which the next one is computed from
    assert not rows.exists("dag_run", older)
    assert rows.exists("dag_run", latest)


def test_running_it_again_deletes_nothing_more(db_url, rows):
    dag_id = rows.dag("job")
    for _ in range(2):
        rows.dag_run(dag_id, 40 * DAY)

    clean_airflow_tables(cutoff_days_ago(30), batch_size=100, url=db_url)
    again = clean_airflow_tables(cutoff_days_ago(30), batch_size=100, url=db_url)

    assert again["dag_run"] == 0 and again["log"] == 0


@pytest.mark.parametrize(
    ("option", "longest", "days"),
    [
        (None, None, 30.0),
        (None, 7.0, 30.0),
        (None, 90.0, 90.0),
        ("14", 90.0, 14.0),
        ("0.5", None, 0.5),
        ("off", 90.0, None),
    ],
)
def test_airflow_retention_is_the_option_else_the_longest_period_at_least_30_days(
    monkeypatch, option, longest, days
):
    if option is None:
        monkeypatch.delenv("AIRFLOW__OPENFN__AIRFLOW_RETENTION_DAYS", raising=False)
    else:
        monkeypatch.setenv("AIRFLOW__OPENFN__AIRFLOW_RETENTION_DAYS", option)
    assert settings.airflow_retention_days(longest) == days


@pytest.mark.parametrize("option", ["0", "-3", "thirty", "inf"])
def test_a_wrong_airflow_retention_is_an_error_naming_the_option(monkeypatch, option):
    monkeypatch.setenv("AIRFLOW__OPENFN__AIRFLOW_RETENTION_DAYS", option)
    with pytest.raises(ValueError, match=r"\[openfn\] airflow_retention_days must be a number"):
        settings.airflow_retention_days(None)
