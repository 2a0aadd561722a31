"""Measure what the message search vector costs: computed in the insert, or filled in just after.

Run from the repository root::

    .venv/bin/python bench/search_vector.py [--rows 2000] [--rounds 3]

A fresh ``openfn_bench_sv`` database (dropped and recreated) gets our migrations and a stand-in
for Airflow's ``dag`` table (the inbox statement joins it). ~1 KB JSON bodies, one autocommit
connection, interleaved rounds (the machine is shared and noisy); for each variant the best
round's p50 / p95 / mean is printed with its ratio to the plain insert measured in the same run:

- plain insert (baseline), insert computing ``jsonb_to_tsvector`` inline;
- the inbox's whole ``receive_message`` statement (match 5 triggers, dispatch row, NOTIFY) with
  and without the inline vector;
- the dispatcher's batch fill (``index_messages``, 1000 rows per UPDATE), per row.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import string
import time

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sqlalchemy.engine import make_url

from openfn_airflow.store import dispatch, inbox, schema

BASE = os.environ.get("OPENFN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = "openfn_bench_sv"
PLAIN = "INSERT INTO openfn_message (project, body, headers) VALUES ('bench', %(b)s, '{}')"
INLINE = (
    "INSERT INTO openfn_message (project, body, headers, search_vector) VALUES ('bench', %(b)s, "
    "'{}', jsonb_to_tsvector('simple', %(b)s::jsonb, '[\"string\", \"numeric\"]'))"
)


def bodies(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    words = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10))) for _ in range(5000)
    ]
    return [
        {
            "formID": "patient_registration",
            "instanceID": f"uuid:{seed}-{i:08d}",
            "submitted": "2026-11-28T05:00:00Z",
            "patient": {
                "name": " ".join(rng.choices(words, k=2)),
                "age": rng.randint(1, 90),
                "village": rng.choice(words),
                "phone": f"+2547{rng.randint(10**7, 10**8 - 1)}",
            },
            "visits": [
                {"date": f"2026-11-0{k + 1}", "notes": " ".join(rng.choices(words, k=12))}
                for k in range(6)
            ],
        }
        for i in range(n)
    ]


def setup() -> str:
    url = make_url(BASE).set(database=DB).render_as_string(hide_password=False)
    with psycopg.connect(BASE, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    schema.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE dag (dag_id text PRIMARY KEY, is_paused boolean NOT NULL)")
        for i, criteria in enumerate(
            [{"formID": "patient_registration"}, {"formID": "x"}, {"a": 1}, {"b": [1]}, {}]
        ):
            conn.execute(
                "INSERT INTO openfn_trigger VALUES ('bench', %s, %s, %s)",
                [f"t{i}", Jsonb(criteria), Jsonb({"test": True})],
            )
            conn.execute(
                "INSERT INTO openfn_job (project, name, trigger, dag_id) VALUES ('bench', %s, %s, %s)",
                [f"j{i}", f"t{i}", f"openfn__bench__j{i}"],
            )
            conn.execute("INSERT INTO dag VALUES (%s, false)", [f"openfn__bench__j{i}"])
    return url


def timed(conn: psycopg.Connection, run, items: list) -> dict[str, float]:
    latencies = []
    for item in items:
        started = time.perf_counter()
        run(conn, item)
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    return {
        "p50": latencies[len(latencies) // 2] * 1000,
        "p95": latencies[int(len(latencies) * 0.95)] * 1000,
        "mean": statistics.mean(latencies) * 1000,
    }


def receive(index_now: bool):
    def run(conn: psycopg.Connection, text: str) -> None:
        inbox.receive_message(
            conn,
            project="bench",
            body_json=text,
            headers={"content-type": "application/json"},
            method="POST",
            path="/openfn/inbox/bench",
            query=None,
            content_type="application/json",
            size_bytes=len(text),
            idempotency_key=None,
            index_now=index_now,
        )

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = setup()
    variants = {
        "insert, no vector (baseline)": lambda c, b: c.execute(PLAIN, {"b": Jsonb(b)}),
        "insert, vector inline": lambda c, b: c.execute(INLINE, {"b": Jsonb(b)}),
        "receive_message, vector after": receive(False),
        "receive_message, vector inline": receive(True),
    }
    best: dict[str, dict[str, float]] = {}
    fills: list[float] = []
    sizes = [len(json.dumps(b)) for b in bodies(100, 0)]
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        for round_ in range(args.rounds + 1):  # round 0 warms up caches and indexes
            for name, run in variants.items():
                items = bodies(args.rows, hash((round_, name)) & 0xFFFF)
                if name.startswith("receive"):
                    items = [json.dumps(b) for b in items]
                figures = timed(conn, run, items)
                if round_ and (name not in best or figures["p50"] < best[name]["p50"]):
                    best[name] = figures
            started, filled = time.perf_counter(), 0
            while (done := dispatch.index_messages(conn, 1000)) > 0:
                filled += done
            if round_ and filled:
                fills.append((time.perf_counter() - started) / filled * 1000)
        total = conn.execute("SELECT count(*) AS n FROM openfn_message").fetchone()
    print(
        f"bodies: {statistics.mean(sizes):.0f} bytes of JSON on average; {total['n']} rows stored"
    )
    base = best["insert, no vector (baseline)"]
    for name, figures in best.items():
        print(
            f"{name:34} p50 {figures['p50']:6.3f} ms  p95 {figures['p95']:6.3f} ms  "
            f"mean {figures['mean']:6.3f} ms  (p50 x{figures['p50'] / base['p50']:.2f})"
        )
    fill = min(fills)
    print(
        f"{'fill after, per row (batch 1000)':34} {fill:6.3f} ms  "
        f"(x{fill / base['p50']:.2f} of a plain insert's p50)"
    )


if __name__ == "__main__":
    main()
