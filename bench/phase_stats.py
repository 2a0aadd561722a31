"""Where a phase's time went: DAG run and task instance timings, and the task logs' parse times.

Read after a phase, from Airflow's tables and the task log files, to explain the rates.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

import psycopg

LOG_SAMPLE = 60  # task logs read per phase

DAG_RUN_TIMES = """
SELECT count(*) AS dag_runs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM start_date - queued_at))
           AS queued_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM end_date - start_date))
           AS run_s
FROM dag_run
WHERE dag_id = %(dag_id)s AND run_id = ANY(%(run_ids)s)
"""

TASK_TIMES = """
SELECT count(*) AS tasks,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM start_date - queued_dttm))
           AS queued_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration) AS duration_s,
       sum(duration) AS total_s
FROM task_instance
WHERE dag_id = %(dag_id)s AND run_id = ANY(%(run_ids)s)
"""


@dataclass
class Breakdown:
    """Medians over a phase's DAG runs and tasks (seconds), and task-log figures (ms)."""

    dag_runs: int
    run_queued_s: float | None  # DAG run queued -> started
    run_s: float | None  # DAG run started -> ended
    task_queued_s: float | None  # task queued -> started
    task_s: float | None  # task duration as Airflow records it
    task_total_s: float | None  # sum of task durations
    parse_ms: float | None  # "Worker startup parse complete": DAG file parse in the task process
    logs_read: int

    def lines(self) -> list[str]:
        return [
            f"DAG runs {self.dag_runs}; median DAG run {_s(self.run_s)} "
            f"(queued -> started {_s(self.run_queued_s)})",
            f"median task {_s(self.task_s)} (queued -> started {_s(self.task_queued_s)}), "
            f"sum of task durations {_s(self.task_total_s)}",
            f"median DAG file parse in the task process {_ms(self.parse_ms)} "
            f"({self.logs_read} task logs read)",
        ]


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def breakdown(conn: psycopg.Connection, logs: Path, dag_id: str, run_ids: list[str]) -> Breakdown:
    """Collect the medians of one phase's DAG runs (``run_ids`` of ``dag_id``)."""
    params = {"dag_id": dag_id, "run_ids": run_ids}
    conn.rollback()
    runs = conn.execute(DAG_RUN_TIMES, params).fetchone()
    tasks = conn.execute(TASK_TIMES, params).fetchone()
    parse = parse_times_ms(logs, dag_id, run_ids[:LOG_SAMPLE])
    return Breakdown(
        dag_runs=runs["dag_runs"],
        run_queued_s=runs["queued_s"],
        run_s=runs["run_s"],
        task_queued_s=tasks["queued_s"],
        task_s=tasks["duration_s"],
        task_total_s=tasks["total_s"],
        parse_ms=statistics.median(parse) if parse else None,
        logs_read=len(parse),
    )


LEDGER_TIMES = """
SELECT started_at, finished_at FROM openfn_run
WHERE message_id = ANY(%(ids)s) AND finished_at IS NOT NULL
ORDER BY finished_at
"""
PACE_WINDOW = 1000


def ledger_pace(conn: psycopg.Connection, message_ids: list[int]) -> str:
    """Ledger runs per second from the first start to the last finish, and early vs late."""
    conn.rollback()
    rows = conn.execute(LEDGER_TIMES, {"ids": message_ids}).fetchall()
    if len(rows) < 2:
        return "ledger pace: too few runs"
    span = (rows[-1]["finished_at"] - min(r["started_at"] for r in rows)).total_seconds()
    text = f"ledger pace: {len(rows) / span:.1f} runs/s from the first start to the last finish"
    if len(rows) >= 3 * PACE_WINDOW:
        first, last = rows[:PACE_WINDOW], rows[-PACE_WINDOW:]
        text += (
            f"; first {PACE_WINDOW} runs {_pace(first):.1f} runs/s,"
            f" last {PACE_WINDOW} {_pace(last):.1f} runs/s"
        )
    return text


def _pace(rows: list[dict]) -> float:
    return (len(rows) - 1) / (rows[-1]["finished_at"] - rows[0]["finished_at"]).total_seconds()


def parse_times_ms(logs: Path, dag_id: str, run_ids: list[str]) -> list[float]:
    """``dag_file_parse_ms`` of each task log (JSON lines) of these DAG runs."""
    found: list[float] = []
    for run_id in run_ids:
        for path in (logs / f"dag_id={dag_id}" / f"run_id={run_id}").glob(
            "task_id=*/attempt=*.log"
        ):
            for line in path.read_text(errors="replace").splitlines():
                if "dag_file_parse_ms" not in line:
                    continue
                try:
                    found.append(float(json.loads(line)["dag_file_parse_ms"]))
                except (ValueError, KeyError, TypeError):
                    continue
    return found
