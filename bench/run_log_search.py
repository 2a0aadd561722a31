"""Measure what indexing a run's log costs when the run is saved, and what a log search costs.

Run from the repository root::

    .venv/bin/python bench/run_log_search.py [--rounds 3] [--runs 2000]

A fresh ``openfn_bench_rl`` database (dropped and recreated) gets our migrations. For logs of
several sizes (HTTP request lines, each with its own record id and URL, as a job that calls an
API prints them) it times ``finish_run`` (the statement that stores a log, and with it indexes
the log), best of ``--rounds``. Then ``--runs`` runs of 2 KB logs are stored and a search for a word that a few of
them hold, for one that none holds and for a word of every URL are timed (the Activity list's
first page; the matches are printed: before 0010 a word inside a URL matched nothing). Works on a
checkout before migration 0010 too (then the index is the old one), for before / after figures.
"""

from __future__ import annotations

import argparse
import os
import time

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

from openfn_airflow.store import run_search, runs, schema
from openfn_airflow.store.filters import RunFilter

BASE = os.environ.get("OPENFN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = "openfn_bench_rl"
SIZES = (2_000, 256 * 1024, 1024 * 1024, 8 * 1024 * 1024)


def log_of(size: int) -> str:
    lines, n = [], 0
    total = 0
    while total < size:
        line = (
            f"2026-12-03T07:{n // 60 % 60:02d}:{n % 60:02d}Z POST "
            f"https://dhis2.example.org/api/patients/{n}?page={n % 7} -> 422 "
            f'{{"status":"ERROR","message":"Value not valid"}}\n'
        )
        lines.append(line)
        total += len(line)
        n += 1
    return "".join(lines)[:size]


def setup() -> str:
    url = make_url(BASE).set(database=DB).render_as_string(hide_password=False)
    with psycopg.connect(BASE, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    schema.migrate(url)
    return url


def save_seconds(conn: psycopg.Connection, log: str) -> float:
    run_id = runs.start_run(conn, project="bench", job="j", trigger="manual", initial_state={})
    started = time.perf_counter()
    runs.finish_run(conn, run_id, status="failed", exit_code=1, log=log, final_state={})
    return time.perf_counter() - started


def search_ms(conn: psycopg.Connection, text: str) -> tuple[float, int]:
    started = time.perf_counter()
    found = run_search.search_runs(conn, RunFilter(project="bench", text=text), limit=50)
    return (time.perf_counter() - started) * 1000, len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    url = setup()
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        for size in SIZES:
            log = log_of(size)
            indexed = min(save_seconds(conn, log) for _ in range(args.rounds))
            print(f"finish_run, log of {size:>9,} chars: {indexed * 1000:9.1f} ms", flush=True)
        conn.execute("DELETE FROM openfn_run")
        small = log_of(2_000)
        for n in range(args.runs):
            rare = " rarepatientword" if n % 500 == 0 else ""
            save_seconds(conn, small + rare)
        conn.execute("ANALYZE openfn_run")
        for text in ("rarepatientword", "nosuchwordanywhere", "patients"):
            best, found = min(search_ms(conn, text) for _ in range(args.rounds + 1))
            print(
                f"search {text!r} over {args.runs} runs: {best:7.2f} ms, {found} found", flush=True
            )


if __name__ == "__main__":
    main()
