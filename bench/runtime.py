"""Benchmark the job runtime and runs per second through the real scheduler, in one run.

Run it from the repository root (``make bench`` does the same)::

    .venv/bin/python bench/runtime.py            # both parts, ~15 minutes
    .venv/bin/python bench/runtime.py --only a   # the in-process part only, seconds

(a) In-process: ``run_job`` per run against calling the same Python function directly (a trivial
    job as an operations list, as a job file, and as the operator calls it), and an ``http.get``
    job against httpx with a shared client (a local FakeApi). Best of 7; overhead in µs.
(b) End to end: a fresh ``openfn_bench_runtime`` database (dropped and recreated, then
    ``airflow db migrate``), a temporary AIRFLOW_HOME and DAGs folder holding our DAG files,
    ``bench/project`` and the plain DAG ``bench/plain_dags/plain_partitioned.py``; the real
    api-server, scheduler and dag-processor (``tests/cluster.py``). Phases: plain DAG (baseline),
    per-message, batched 200 events x 50 messages, batched 200 x 1, plain DAG again.

Every figure is printed next to its baseline from the same run (the machine is shared and
noisy). PostgreSQL: ``OPENFN_BENCH_PG`` (default postgresql://postgres@127.0.0.1:5432/postgres),
a role that may create databases. The cluster is stopped on every exit path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import sys

import environment


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("a", "b"), help="run one part only")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary AIRFLOW_HOME (task logs)"
    )
    return parser.parse_args()


def machine() -> str:
    return (
        f"{dt.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Airflow {importlib.metadata.version('apache-airflow')}, "
        f"PostgreSQL {environment.server_version()}"
    )


def run_scheduler_part(env: environment.Environment) -> tuple[list, int | None]:
    import diagnosis
    import figures
    import scheduler_runs

    print(f"\n(b) database {environment.DATABASE}, AIRFLOW_HOME {env.home}")
    environment.recreate_database()
    environment.migrate(env)
    environment.build_dags_folder(env)
    phases, peak_rss = scheduler_runs.run(env)
    figures.report_phases(phases)
    diagnosis.report(env)
    return phases, peak_rss


def main() -> int:
    args = parse_args()
    # Before anything imports airflow: it reads its home and database URL once, at import.
    env = environment.configure()
    keep = args.keep
    try:
        import figures
        import overhead

        print(f"openfn-airflow bench: {machine()}")
        timings = [] if args.only == "b" else overhead.measure()
        if timings:
            overhead.report(timings)
        phases, peak_rss = run_scheduler_part(env) if args.only != "a" else ([], None)
        figures.print_table(timings, phases, peak_rss)
    except BaseException:
        keep = args.only != "a"
        raise
    finally:
        if keep:
            print(f"\nAIRFLOW_HOME kept: {env.home} (logs/ has every process's log)")
        else:
            environment.remove(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
