"""(c) Where our extra time goes, measured after the cluster stopped.

- Task start-up: what a per-message task process pays that the plain DAG's does not, timed in
  fresh interpreters that first import what the LocalExecutor's forked worker already holds
  (Airflow's task runner and ``airflow.sdk``): importing psycopg, importing our DAG modules,
  building the task's DAG (``load_dags`` under the task's parsing context), connecting to the
  ledger; then the same after ``dags/preload.py``'s preload (what the scheduler imports before
  it forks its workers, on by default). The plain DAG file's own parse is the baseline.
- Batched ledger work: the statements ``OpenFnJobOperator._perform`` issues per claimed run
  (``set_initial_state``, ``run_job``, ``finish_run``, commit), medians over many runs, and the
  commit again with ``synchronous_commit = off`` (no wait for the WAL flush).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from environment import BENCH, Environment

from openfn_airflow.runtime import run_job
from openfn_airflow.store import messages, runs
from openfn_airflow.store.database import connect
from openfn_airflow.store.queries import query
from openfn_airflow.tasks.inputs import claimed_inputs

STARTUP_SAMPLES = 5
PER_MESSAGE_DAG = "openfn__bench__per-message"
LEDGER_RUNS = 2000
JOB_FILE = BENCH / "project" / "jobs" / "mark.py"

_STARTUP = """
import json, runpy, sys, time
import airflow.sdk, airflow.sdk.execution_time.task_runner
folder, which = sys.argv[1], sys.argv[2]
times = {}
if which == "preloaded":  # what the scheduler imported before forking (dags/preload.py): not timed
    from openfn_airflow.dags.preload import preload_task_modules
    preload_task_modules()
def lap(name, func):
    started = time.perf_counter(); func(); times[name] = (time.perf_counter() - started) * 1000
# The first Asset() loads every provider's asset URI handlers: both DAG files pay it.
lap(which + ": asset URI handlers (first Asset())", lambda: airflow.sdk.Asset("bench://warm"))
if which == "plain":
    lap("plain DAG file parse (baseline)", lambda: runpy.run_path(folder + "/plain_partitioned.py"))
else:
    prefix = which + ": "
    lap(prefix + "import psycopg", lambda: __import__("psycopg"))
    lap(prefix + "import openfn_airflow DAG modules", lambda: __import__("openfn_airflow.dags.factory"))
    from openfn_airflow.dags.loader import load_dags
    lap(prefix + "load_dags (builds the task's own DAG)", lambda: load_dags(folder))
    from openfn_airflow.store.database import connect
    lap(prefix + "connect to the ledger + SELECT 1", lambda: connect().execute("SELECT 1").fetchone())
print(json.dumps(times))
"""


def _startup_sample(env: Environment, which: str) -> dict[str, float]:
    # What the task runner sets while it parses the DAG file: load_dags builds only that DAG.
    context = {
        "_AIRFLOW_PARSING_CONTEXT_DAG_ID": PER_MESSAGE_DAG,
        "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "run",
    }
    done = subprocess.run(
        [sys.executable, "-c", _STARTUP, str(env.dags_folder), which],
        env={**os.environ, **context},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def task_startup_ms(env: Environment) -> dict[str, float]:
    """Median milliseconds of each start-up step, each side in its own fresh interpreters."""
    samples: dict[str, list[float]] = {}
    for _ in range(STARTUP_SAMPLES):
        for which in ("plain", "ours", "preloaded"):
            for name, ms in _startup_sample(env, which).items():
                samples.setdefault(name, []).append(ms)
    return {name: statistics.median(values) for name, values in samples.items()}


def _claimed(conn, job: str) -> list:
    ids = [
        messages.insert_message(conn, project="bench", body={"bench": "diagnosis", "n": n})
        for n in range(LEDGER_RUNS)
    ]
    conn.execute(query("queue_runs"), {"project": "bench", "job": job, "message_ids": ids})
    conn.commit()
    claimed = runs.claim_pending_runs(
        conn,
        project="bench",
        job=job,
        dag_id="bench-diagnosis",
        dag_run_id=f"{job}-{time.time_ns()}",
        task_id="run",
        try_number=1,
    )
    inputs = claimed_inputs(conn, claimed)
    conn.commit()
    return inputs


def ledger_statement_ms(db_url: str, *, synchronous_commit: bool) -> dict[str, float]:
    """Median milliseconds of each step of a claimed batched run, as the operator does it."""
    steps: dict[str, list[float]] = {"set_initial_state": [], "run_job": [], "finish_run": []}
    steps["commit"] = []
    with connect(db_url) as conn:
        if not synchronous_commit:
            conn.execute("SET synchronous_commit TO off")
        for run_input in _claimed(conn, f"diagnosis-{int(synchronous_commit)}"):
            marks = [time.perf_counter()]
            runs.set_initial_state(conn, run_input.ledger_id, run_input.initial_state)
            marks.append(time.perf_counter())
            result = run_job(JOB_FILE, run_input.initial_state, timeout=300)
            marks.append(time.perf_counter())
            runs.finish_run(
                conn,
                run_input.ledger_id,
                status=result.status,
                exit_code=result.exit_code,
                log=result.log,
                final_state=result.final_state,
            )
            marks.append(time.perf_counter())
            conn.commit()
            marks.append(time.perf_counter())
            for name, start, end in zip(steps, marks, marks[1:], strict=False):
                steps[name].append((end - start) * 1000)
    return {name: statistics.median(values) for name, values in steps.items()}


def report(env: Environment) -> None:
    print("\n(c) diagnosis, after the cluster stopped")
    print(f"  per-message task start-up, median of {STARTUP_SAMPLES} fresh interpreters:")
    startup = task_startup_ms(env)
    for name, ms in startup.items():
        print(f"    {name:42} {ms:7.1f} ms")
    ours, preloaded, plain = (
        sum(ms for name, ms in startup.items() if name.startswith(which + ":"))
        for which in ("ours", "preloaded", "plain")
    )
    print(
        f"    {'in all: ours / preloaded / plain DAG':42} {ours:7.1f} ms / {preloaded:.1f} ms"
        f" / {plain:.1f} ms"
    )
    print(f"  batched ledger work per claimed run, median of {LEDGER_RUNS} runs:")
    durable = ledger_statement_ms(env.db_url, synchronous_commit=True)
    relaxed = ledger_statement_ms(env.db_url, synchronous_commit=False)
    for name in durable:
        print(
            f"    {name:18} {durable[name]:6.2f} ms  (synchronous_commit off: {relaxed[name]:.2f} ms)"
        )
    total = sum(durable.values())
    print(
        f"    {'total':18} {total:6.2f} ms = {1000 / total:.0f} runs/s before Airflow's task logging"
    )
