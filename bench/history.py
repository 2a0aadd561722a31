"""Benchmark the inbox's message history over 1,000,000 stored messages.

Run from the repository root::

    .venv/bin/python bench/history.py [--messages 1000000] [--samples 30] [--reload]
                                      [--only search triggers export reprocess]

Its own database, ``openfn_bench_history``: ``airflow db migrate`` (Airflow's tables and ours), a
project ``history`` with four message-filter triggers (three per-message jobs, one batched), and
the messages, ~1 KB JSON bodies of four form kinds with varied text (names, words drawn from a
20,000-word vocabulary by a Zipf law, numbers, nested objects), received over the last 60 days,
newest with the highest id. They are stored as the inbox stores them: search vector
``jsonb_to_tsvector('simple', body, '["string", "numeric"]')``, ``response`` naming the matched
triggers, one dispatched ``openfn_dispatch`` row per match, and one finished run per delivery.
The load (COPY into a staging table, INSERT ... SELECT, indexes built afterwards) is kept: a
rerun finds the same database and skips it (``--reload`` forces it; our migrations still run).

Each measure is set against a baseline measured in the same run (the machine is noisy):

1. body-text search (``q``): the store function the API calls (``search_messages``, one page of
   51 rows, as the API asks for limit + 1) and the API route ``GET /openfn/api/v1/messages?q=``
   on Airflow's real api-server app in-process (search + capped count + JSON), for a rare word, a
   common word, a prefix and two words, with the default 30-day window and with none. Baseline:
   ``body::text ILIKE '%word%'`` (every word), same window, newest first, same LIMIT. p95 over
   ``--samples`` calls (a slow baseline gets at least 3 calls within ~15 s). Targets: p95 < 200 ms
   and >= 100x faster than ILIKE.
2. trigger filter (``trigger=``, the default window), store function and API route: p95,
   baseline a plain newest-first SELECT of the same page size. Target (as search): p95 < 200 ms.
3. CSV export of the last 7 days (> 100,000 rows) through the API route, called as an ASGI app in
   a subprocess so its memory is measured alone (RSS sampled every 5 ms, growth over the RSS
   before the call). Baseline: a plain SELECT of the same rows (JSON as text), fetched whole.
   Targets: > 100,000 rows/s and < 200 MB.
4. bulk reprocess of 10,000 messages (``POST /openfn/api/v1/messages/reprocess``): 10,000
   consecutive ids (mostly per-message jobs), and 10,000 messages of the batched job's trigger.
   Time to queue the dispatch rows, then the dispatcher (``Dispatcher.dispatch_pending``) until
   every row is dispatched. Baselines: a plain INSERT of as many dispatch rows; Airflow's own
   ``register_asset_change`` for the same events (per-message events: 1,500 timed, the time
   scaled to all). Target: under 10 s in all.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.metadata
import itertools
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import environment
import psycopg

PROJECT = "history"
INBOX_ID = "0b5e7d3c-6f0a-4c47-9a7e-3f1d2c4b5a61"
GENERATOR_VERSION = 1  # bump when the data changes shape: cached databases are then reloaded
DAYS = 60
PAGE = 51  # the API asks for limit + 1 (default limit 50) to know whether there is a next page
WINDOW_DAYS = 30  # the API's default window
EXPORT_DAYS = 7
REPROCESS = 10_000
SEARCH_TARGET_MS = 200.0
SEARCH_TARGET_RATIO = 100.0
EXPORT_TARGET_RATE = 100_000.0
EXPORT_TARGET_MB = 200.0
REPROCESS_TARGET_S = 10.0
AIRFLOW_SAMPLE = 1500  # per-message asset events registered by the Airflow baseline, then scaled
SLOW_BASELINE_BUDGET_S = 15.0
MEASURES = ("search", "triggers", "export", "reprocess")

SPEC = f"""\
# The project bench/history.py stores its messages in.
project: {PROJECT}
inbox:
  id: {INBOX_ID}
triggers:
  registrations:
    criteria: {{formID: patient_registration}}
    exclude: {{test: true}}
  visits:
    criteria: {{formID: household_visit}}
  labs:
    criteria: {{formID: lab_result}}
  urgent-referrals:
    criteria: {{formID: referral, urgent: true}}
jobs:
  register:
    file: jobs/mark.py
    trigger: registrations
  visit:
    file: jobs/mark.py
    trigger: visits
  labs:
    file: jobs/mark.py
    trigger: labs
    runs: batched
  refer:
    file: jobs/mark.py
    trigger: urgent-referrals
"""


# --- the data -------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


class Vocabulary:
    """Pseudo-words (syllables) with Zipf frequencies, and names, villages, districts."""

    FIRST = _words(
        "Amina Baraka Chausiku Daudi Esther Faraji Grace Hassan Imani Juma Kamau Lulu "
        "Mwangi Neema Otieno Pendo Rehema Said Tumaini Upendo Wanjiru Zawadi Achieng "
        "Brian Cynthia David Ellen Felix Gloria Hellen Ibrahim Joyce Kevin Lydia Moses "
        "Nafula Oscar Peris Quincy Ruth Samuel Teresia Victor Winnie Yusuf Zainabu Agnes "
        "Bernard Caroline Dennis"
    )
    LAST = _words(
        "Otieno Mwangi Kamau Wanjiku Njoroge Ochieng Mutua Kariuki Akinyi Chebet Kiprop "
        "Wafula Barasa Nyambura Odhiambo Kimani Mbugua Onyango Cheruiyot Wekesa Mohamed "
        "Ali Hussein Abdi Juma Langat Rotich Koech Kiplagat Jeptoo Nduta Muthoni Gitau "
        "Macharia Maina"
    )

    def __init__(self, seed: int = 7, size: int = 20_000) -> None:
        rng = random.Random(seed)
        consonants = _words("b d f g h j k l m n p r s t v w y z ch sh ny mb nd ng")
        seen: set[str] = set()
        self.words: list[str] = []
        while len(self.words) < size:
            word = "".join(
                rng.choice(consonants) + rng.choice("aeiou")
                for _ in range(rng.choice((2, 2, 3, 3, 3, 4)))
            )
            if word not in seen:
                seen.add(word)
                self.words.append(word)
        self.cum_weights = list(itertools.accumulate(1.0 / rank for rank in range(1, size + 1)))
        self.villages = [w.capitalize() for w in rng.sample(self.words, 800)]
        self.districts = [w.capitalize() for w in rng.sample(self.words, 40)]


FORMS = ["patient_registration"] * 40 + ["household_visit"] * 35 + ["lab_result"] * 20
FORMS += ["referral"] * 5


def make_body(rng: random.Random, vocab: Vocabulary, n: int, at: dt.datetime) -> dict[str, Any]:
    """One submission, ~1 KB of JSON once serialised."""
    words = rng.choices(vocab.words, cum_weights=vocab.cum_weights, k=44)
    first, last = vocab.FIRST, vocab.LAST
    form = rng.choice(FORMS)
    body: dict[str, Any] = {
        "formID": form,
        "instanceID": f"uuid:{rng.getrandbits(64):016x}-{n:08d}",
        "submitted_at": (at - dt.timedelta(seconds=rng.randint(5, 7200))).isoformat(),
        "device": {
            "id": f"dev-{rng.randint(1000, 9999)}",
            "app": "collect",
            "version": f"2.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
        },
        "patient": {
            "name": f"{rng.choice(first)} {rng.choice(last)}",
            "sex": rng.choice("FM"),
            "age": rng.randint(0, 95),
            "village": rng.choice(vocab.villages),
            "district": rng.choice(vocab.districts),
            "phone": f"+2547{rng.randint(10**7, 10**8 - 1)}",
        },
        "household": {
            "size": rng.randint(1, 12),
            "head": f"{rng.choice(first)} {rng.choice(last)}",
            "gps": {"lat": round(rng.uniform(-4.5, 4.5), 5), "lon": round(rng.uniform(34, 41), 5)},
        },
        "observations": [
            {
                "code": words[k],
                "value": round(rng.uniform(0, 300), 1),
                "note": " ".join(words[4 + k * 5 : 9 + k * 5]),
            }
            for k in range(4)
        ],
        "notes": " ".join(words[24:41]),
        "tags": words[41:44],
    }
    if form == "household_visit":
        body["visit"] = {
            "type": rng.choice(["routine", "follow-up", "emergency"]),
            "chw": f"{rng.choice(first)} {rng.choice(last)}",
        }
    elif form == "lab_result":
        body["lab"] = {
            "test": rng.choice(["malaria_rdt", "hb", "glucose", "hiv"]),
            "result": round(rng.uniform(0, 20), 2),
            "units": "g/dL",
        }
    elif form == "referral":
        body["urgent"] = rng.random() < 0.2
        body["facility"] = f"{rng.choice(vocab.villages)} Health Centre"
    if rng.random() < 0.02:
        body["test"] = True
    return body


def copy_lines(total: int, start: dt.datetime, seed: int = 11) -> Iterator[str]:
    """COPY text rows of the staging table: id, received_at, body, size_bytes, idempotency_key."""
    rng = random.Random(seed)
    vocab = Vocabulary()
    step = dt.timedelta(days=DAYS) / total
    chunk: list[str] = []
    for n in range(1, total + 1):
        at = start + step * (n - 1) + step * rng.random() * 0.9  # still ascending with the id
        text = json.dumps(make_body(rng, vocab, n, at))
        key = f"sub-{n:08d}" if rng.random() < 0.1 else "\\N"
        # COPY text format: JSON has no raw tab or newline; its backslashes must be doubled.
        chunk.append(
            f"{n}\t{at.isoformat()}\t{text.replace(chr(92), chr(92) * 2)}\t{len(text)}\t{key}\n"
        )
        if len(chunk) == 2000:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


# --- setup ----------------------------------------------------------------------------------


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def cached(url: str, messages: int) -> dict[str, Any] | None:
    """The load's record when the database holds this bench's data, else None."""
    try:
        with connect(url) as conn:
            row = conn.execute(
                "SELECT messages, generator, loaded_at FROM bench_history_meta"
            ).fetchone()
    except psycopg.Error:
        return None
    if row is None or row[0] != messages or row[1] != GENERATOR_VERSION:
        return None
    return {"messages": row[0], "loaded_at": row[2]}


def in_parallel(url: str, statements: list[tuple[str, dict[str, Any]]], workers: int = 2) -> None:
    def run(item: tuple[str, dict[str, Any]]) -> None:
        statement, params = item
        with connect(url) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute(statement, params)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, statements))


INSERT_MESSAGES = """
INSERT INTO openfn_message (
    id, project, body, headers, method, path, query, received_at, search_vector,
    idempotency_key, response, content_type, size_bytes
)
OVERRIDING SYSTEM VALUE
SELECT s.id, %(project)s, s.body,
       jsonb_build_object('content-type', 'application/json', 'user-agent', 'ODK Collect/2024.3',
                          'x-forwarded-for', '10.8.' || mod(s.id, 250) || '.' || mod(s.id, 199)),
       'POST', %(path)s, NULL, s.received_at,
       jsonb_to_tsvector('simple', s.body, '["string", "numeric"]'),
       s.idempotency_key,
       jsonb_build_object('message_id', s.id, 'matched', COALESCE((
           SELECT jsonb_agg(t.name ORDER BY t.name)
           FROM openfn_trigger AS t
           WHERE t.project = %(project)s
             AND s.body @> t.criteria
             AND NOT (t.exclude IS NOT NULL AND s.body @> t.exclude)
             AND EXISTS (SELECT FROM openfn_job AS j WHERE j.project = t.project
                         AND j.trigger = t.name AND j.enabled AND j.autoprocess)
       ), '[]'::jsonb)),
       'application/json', s.size_bytes
FROM bench_stage AS s
WHERE s.id BETWEEN %(low)s AND %(high)s
"""

INSERT_DISPATCHES = """
INSERT INTO openfn_dispatch (
    message_id, project, trigger, created_at, attempts, not_before, dispatched_at
)
SELECT m.id, m.project, matched.name, m.received_at, 1, m.received_at,
       m.received_at + interval '150 milliseconds'
FROM openfn_message AS m, jsonb_array_elements_text(m.response -> 'matched') AS matched(name)
WHERE m.id BETWEEN %(low)s AND %(high)s
ORDER BY m.id, matched.name
"""

INSERT_RUNS = """
INSERT INTO openfn_run (
    project, job, message_id, trigger, dag_id, dag_run_id, task_id, try_number, started_at,
    finished_at, status, exit_code, log, created_at
)
SELECT d.project, j.name, d.message_id, 'message', j.dag_id,
       'asset_triggered__' || d.id, 'run', 1,
       d.dispatched_at + interval '2 seconds', d.dispatched_at + interval '3 seconds',
       CASE WHEN mod(d.id, 40) = 0 THEN 'failed' WHEN mod(d.id, 301) = 0 THEN 'crashed'
            ELSE 'success' END,
       CASE WHEN mod(d.id, 40) = 0 THEN 1 WHEN mod(d.id, 301) = 0 THEN -9 ELSE 0 END,
       'Starting ' || j.name || ' for message ' || d.message_id || E'\\n'
           || CASE WHEN mod(d.id, 40) = 0 THEN 'TypeError: cannot read patient.age of undefined'
                   ELSE 'Finished in ' || (mod(d.id, 900) + 40) || ' ms' END,
       d.dispatched_at + interval '1 second'
FROM openfn_dispatch AS d
JOIN openfn_job AS j ON j.project = d.project AND j.trigger = d.trigger
WHERE d.message_id BETWEEN %(low)s AND %(high)s
ORDER BY d.id, j.name
"""

LOADED_TABLES = ("openfn_message", "openfn_dispatch", "openfn_run")


def load(url: str, total: int) -> dict[str, float]:
    """Store ``total`` messages as the inbox would have; return the seconds of each step."""
    steps: dict[str, float] = {}
    started = time.perf_counter()
    loaded_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with connect(url) as conn:
        indexes = conn.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index AS i "
            "JOIN pg_class AS c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
            "ORDER BY pg_get_indexdef(i.indexrelid) LIKE '%% USING gin %%' DESC",
            [list(LOADED_TABLES)],
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute(
            "CREATE UNLOGGED TABLE bench_stage (id bigint PRIMARY KEY, received_at timestamptz, "
            "body jsonb, size_bytes integer, idempotency_key text)"
        )
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY bench_stage (id, received_at, body, size_bytes, idempotency_key) FROM STDIN"
            ) as copy,
        ):
            for i, block in enumerate(copy_lines(total, loaded_at - dt.timedelta(days=DAYS))):
                copy.write(block)
                if i % 100 == 99:
                    print(f"  generated {(i + 1) * 2000:,} messages", end="\r", flush=True)
        print()
    steps["generate + COPY"] = time.perf_counter() - started
    halves = [(1, total // 2), (total // 2 + 1, total)]
    path = f"/openfn/inbox/{INBOX_ID}"
    for label, statement in (
        ("messages (vector, matches)", INSERT_MESSAGES),
        ("dispatch rows", INSERT_DISPATCHES),
        ("runs", INSERT_RUNS),
    ):
        began = time.perf_counter()
        in_parallel(
            url,
            [
                (statement, {"project": PROJECT, "path": path, "low": low, "high": high})
                for low, high in halves
            ],
        )
        steps[f"insert {label}"] = time.perf_counter() - began
    began = time.perf_counter()
    with connect(url) as conn:
        conn.execute("DROP TABLE bench_stage")
        for table in LOADED_TABLES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    in_parallel(url, [(definition, {}) for _, definition in indexes])
    steps["indexes"] = time.perf_counter() - began
    began = time.perf_counter()
    with connect(url) as conn:
        for table in LOADED_TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")
        conn.execute(
            "CREATE TABLE bench_history_meta AS "
            "SELECT %s::integer AS messages, %s::integer AS generator, "
            "%s::timestamptz AS loaded_at",
            [total, GENERATOR_VERSION, loaded_at],
        )
    steps["vacuum analyze"] = time.perf_counter() - began
    steps["load in all"] = time.perf_counter() - started
    return steps


def build_dags_folder(env: environment.Environment) -> None:
    """Our DAG files and the history project (its jobs are the bench's trivial job)."""
    env.dags_folder.mkdir(parents=True, exist_ok=True)
    for name in ("openfn_jobs.py", ".airflowignore"):
        shutil.copy2(environment.REPO / "dags" / name, env.dags_folder / name)
    project = env.dags_folder / PROJECT
    (project / "jobs").mkdir(parents=True, exist_ok=True)
    (project / "project.yaml").write_text(SPEC)
    shutil.copy2(environment.BENCH / "project" / "jobs" / "mark.py", project / "jobs" / "mark.py")


def sync_airflow_dags() -> None:
    """Parse the DAGs folder into Airflow's tables, as the dag-processor does (assets active)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        assert not bag.import_errors, bag.import_errors
        sync_bag_to_db(bag, bundle.name, bundle.version)


def forget_bench_writes(url: str, since: dt.datetime) -> None:
    """Drop what reprocessing wrote (dispatch rows, pending runs, asset events, queued DAG runs)."""
    with connect(url) as conn:
        conn.execute("DELETE FROM openfn_dispatch WHERE created_at > %s", [since])
        conn.execute("DELETE FROM openfn_run WHERE created_at > %s", [since])
        for table in ("asset_partition_dag_run", "asset_dag_run_queue", "asset_event"):
            if conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0]:
                conn.execute(f"DELETE FROM {table}")


# --- measuring ------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * fraction) - 1)]


@dataclass
class Latency:
    p50: float  # ms
    p95: float
    samples: int

    def __str__(self) -> str:
        return f"{self.p95:.1f} ms"


def latency(call: Callable[[], object], samples: int, budget: float | None = None) -> Latency:
    """Time ``call`` (after one untimed warm-up) ``samples`` times, or fewer (at least 3) when
    ``budget`` seconds run out first."""
    call()
    times: list[float] = []
    began = time.perf_counter()
    for _ in range(samples):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
        if budget is not None and len(times) >= 3 and time.perf_counter() - began > budget:
            break
    return Latency(percentile(times, 0.5), percentile(times, 0.95), len(times))


@dataclass
class Row:
    measure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: bool | str | None  # a str says which part of a two-part target was met


def search_queries(vocab: Vocabulary) -> dict[str, str]:
    words = vocab.words  # by Zipf rank, most frequent first
    return {
        "rare word": words[14_999],
        "common word": words[2],
        "prefix": words[60][:3],
        "two words": f"{words[30]} {words[400]}",
    }


def ilike_query(text: str, after: dt.datetime | None) -> tuple[str, list[Any]]:
    conditions, params = [], []
    for word in text.split():
        conditions.append("m.body::text ILIKE %s")
        params.append(f"%{word}%")
    if after is not None:
        conditions.append("m.received_at >= %s")
        params.append(after)
    sql = (
        "SELECT m.id, m.project, m.received_at, m.method, m.path, m.headers, m.body "
        f"FROM openfn_message AS m WHERE {' AND '.join(conditions)} "
        f"ORDER BY m.id DESC LIMIT {PAGE}"
    )
    return sql, params


def measure_search(url: str, client: Any, samples: int) -> list[Row]:
    from openfn_airflow.store import message_search
    from openfn_airflow.store.database import connect as store_connect
    from openfn_airflow.store.filters import MessageFilter

    rows: list[Row] = []
    now = dt.datetime.now(dt.UTC)
    with store_connect(url) as conn, connect(url) as plain:
        # The API opens a connection per request, so it never reaches psycopg's prepare threshold.
        conn.prepare_threshold = None
        for label, text in search_queries(Vocabulary()).items():
            for window in (WINDOW_DAYS, None):
                after = now - dt.timedelta(days=window) if window else None
                where = MessageFilter(text=text, received_after=after)

                def ours(where: MessageFilter = where) -> list[dict[str, Any]]:
                    found = message_search.search_messages(conn, where, limit=PAGE)
                    conn.rollback()
                    return found

                params = {"q": text} if window else {"q": text, "received_after": "all"}

                def api(params: dict[str, str] = params) -> None:
                    answer = client.get("/openfn/api/v1/messages", params=params)
                    assert answer.status_code == 200, answer.text

                sql, args = ilike_query(text, after)
                found = len(ours())
                matches = message_search.count_messages(conn, where, cap=10**7)
                conn.rollback()
                base_found = len(plain.execute(sql, args).fetchall())
                ours_lat = latency(ours, samples)
                api_lat = latency(api, samples)
                base_lat = latency(
                    lambda sql=sql, args=args: plain.execute(sql, args).fetchall(),
                    samples,
                    SLOW_BASELINE_BUDGET_S,
                )
                shown = f"{window} days" if window else "no window"
                name = (
                    f'search {label} "{text}", {shown} ({matches:,} match; rows: ours {found}, '
                    f"ILIKE {base_found})"
                )
                for via, lat in (("store", ours_lat), ("API", api_lat)):
                    ratio = base_lat.p95 / lat.p95
                    fast, far = lat.p95 < SEARCH_TARGET_MS, ratio >= SEARCH_TARGET_RATIO
                    rows.append(
                        Row(
                            f"{name}, {via}",
                            f"{lat} (p50 {lat.p50:.1f})",
                            f"{base_lat} (p50 {base_lat.p50:.1f}, n={base_lat.samples})",
                            f"{ratio:.0f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower",
                            f"< {SEARCH_TARGET_MS:.0f} ms, >= {SEARCH_TARGET_RATIO:.0f}x",
                            True
                            if fast and far
                            else f"p95 {'yes' if fast else '**no**'}, "
                            f"ratio {'yes' if far else '**no**'}",
                        )
                    )
                print(
                    rows[-2].measure,
                    "|",
                    rows[-2].ours,
                    "|",
                    rows[-1].ours,
                    "|",
                    rows[-1].baseline,
                    flush=True,
                )
    return rows


def measure_triggers(url: str, client: Any, samples: int) -> list[Row]:
    from openfn_airflow.store import message_search
    from openfn_airflow.store.database import connect as store_connect
    from openfn_airflow.store.filters import MessageFilter

    rows: list[Row] = []
    after = dt.datetime.now(dt.UTC) - dt.timedelta(days=WINDOW_DAYS)
    plain_sql = (
        "SELECT m.id, m.project, m.received_at, m.method, m.path, m.headers, m.body "
        "FROM openfn_message AS m WHERE m.project = %s AND m.received_at >= %s "
        f"ORDER BY m.id DESC LIMIT {PAGE}"
    )
    with store_connect(url) as conn, connect(url) as plain:
        conn.prepare_threshold = None
        for trigger in ("visits", "registrations", "urgent-referrals"):
            where = MessageFilter(project=PROJECT, trigger=trigger, received_after=after)

            def ours(where: MessageFilter = where) -> list[dict[str, Any]]:
                found = message_search.search_messages(conn, where, limit=PAGE)
                conn.rollback()
                return found

            def api(trigger: str = trigger) -> None:
                answer = client.get(
                    "/openfn/api/v1/messages", params={"project": PROJECT, "trigger": trigger}
                )
                assert answer.status_code == 200, answer.text

            matches = message_search.count_messages(conn, where, cap=10**7)
            conn.rollback()
            ours_lat = latency(ours, samples)
            api_lat = latency(api, samples)
            base_lat = latency(
                lambda: plain.execute(plain_sql, [PROJECT, after]).fetchall(), samples
            )
            for via, lat in (("store", ours_lat), ("API", api_lat)):
                rows.append(
                    Row(
                        f'trigger "{trigger}", {WINDOW_DAYS} days ({matches:,} match), {via}',
                        f"{lat} (p50 {lat.p50:.1f})",
                        f"{base_lat} (p50 {base_lat.p50:.1f})",
                        f"{lat.p95 / base_lat.p95:.1f}x the plain SELECT",
                        f"< {SEARCH_TARGET_MS:.0f} ms",
                        lat.p95 < SEARCH_TARGET_MS,
                    )
                )
            print(
                rows[-2].measure,
                "|",
                rows[-2].ours,
                "|",
                rows[-1].ours,
                "|",
                rows[-1].baseline,
                flush=True,
            )
    return rows


# --- the export, in a subprocess of its own -------------------------------------------------


class PeakRss:
    """Sample this process's RSS every 5 ms in a thread; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.start = self._process.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


async def asgi_get(app: Any, path: str, query: str, token: str) -> tuple[int, int, int]:
    """GET through the ASGI app itself (no test client buffering the body); discard the body as
    it streams. Return the status, the bytes and the lines received."""
    status, size, lines = 0, 0, 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size, lines
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            size += len(chunk)
            lines += chunk.count(b"\n")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"localhost"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("localhost", 8080),
        "state": {},
    }
    await app(scope, receive, send)
    return status, size, lines


def export_child(mode: str, after: str, url: str) -> None:
    """Run one export in this (child) process; print its figures as JSON."""
    from urllib.parse import urlencode

    if mode == "api":
        from airflow.api_fastapi.app import create_app
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

        app = create_app()
        token = app.state.auth_manager.generate_jwt(
            SimpleAuthManagerUser(username="admin", role="admin")
        )
        path = "/openfn/api/v1/messages.csv"
        warm = urlencode({"received_after": "1d"})
        asyncio.run(asgi_get(app, path, warm, token))  # imports, first connection
        with PeakRss() as rss:
            started = time.perf_counter()
            status, size, lines = asyncio.run(
                asgi_get(app, path, urlencode({"received_after": after}), token)
            )
            seconds = time.perf_counter() - started
        assert status == 200, status
        rows = lines - 1  # the header; JSON text never holds a raw newline
    else:
        # Text as PostgreSQL prints it: the JSON is not parsed into Python objects.
        sql = (
            "SELECT m.id, m.project, m.received_at, m.method, m.path, m.headers::text, "
            "m.body::text FROM openfn_message AS m WHERE m.received_at >= %s ORDER BY m.id DESC"
        )
        with connect(url) as conn:
            conn.execute(sql + " LIMIT 100", [after]).fetchall()
            with PeakRss() as rss:
                started = time.perf_counter()
                fetched = conn.execute(sql, [after]).fetchall()
                seconds = time.perf_counter() - started
            rows, size = len(fetched), 0
    print(
        json.dumps(
            {
                "rows": rows,
                "bytes": size,
                "seconds": seconds,
                "growth_mb": (rss.peak - rss.start) / 2**20,
                "peak_mb": rss.peak / 2**20,
            }
        )
    )


def measure_export(env: environment.Environment, rounds: int = 2) -> list[Row]:
    with connect(env.db_url) as conn:
        newest = conn.execute("SELECT max(received_at) FROM openfn_message").fetchone()[0]
        after = (newest - dt.timedelta(days=EXPORT_DAYS)).isoformat()
        expected = conn.execute(
            "SELECT count(*) FROM openfn_message WHERE received_at >= %s", [after]
        ).fetchone()[0]
    figures: dict[str, list[dict[str, float]]] = {"api": [], "select": []}
    for _ in range(rounds):
        for mode in ("api", "select"):
            done = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--after", after],
                capture_output=True,
                text=True,
                env=dict(os.environ),
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"export child {mode} failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            assert result["rows"] == expected, (mode, result["rows"], expected)
            figures[mode].append(result)
            print(f"  export {mode}: {result}", flush=True)
    api = max(figures["api"], key=lambda f: f["rows"] / f["seconds"])
    base = max(figures["select"], key=lambda f: f["rows"] / f["seconds"])
    api_growth = max(f["growth_mb"] for f in figures["api"])
    base_growth = max(f["growth_mb"] for f in figures["select"])
    api_rate, base_rate = api["rows"] / api["seconds"], base["rows"] / base["seconds"]
    return [
        Row(
            f"CSV export, last {EXPORT_DAYS} days ({expected:,} rows, "
            f"{api['bytes'] / 2**20:.0f} MB of CSV), API route: rows/s",
            f"{api_rate:,.0f} rows/s ({api['seconds']:.2f} s)",
            f"{base_rate:,.0f} rows/s ({base['seconds']:.2f} s, plain SELECT fetched whole)",
            f"{api_rate / base_rate:.2f}x",
            f"> {EXPORT_TARGET_RATE:,.0f} rows/s",
            api_rate > EXPORT_TARGET_RATE,
        ),
        Row(
            "CSV export: process RSS growth (peak)",
            f"{api_growth:.1f} MB (peak RSS {api['peak_mb']:.0f} MB)",
            f"{base_growth:.1f} MB (peak RSS {base['peak_mb']:.0f} MB)",
            f"{api_growth / base_growth:.2f}x",
            f"< {EXPORT_TARGET_MB:.0f} MB",
            api_growth < EXPORT_TARGET_MB,
        ),
    ]


# --- bulk reprocess -------------------------------------------------------------------------


def reprocess_ranges(url: str) -> list[tuple[str, dict[str, Any], list[str]]]:
    """The two bulk reprocesses: 10,000 consecutive messages (~30 days old, mostly matching
    per-message jobs), and 10,000 messages matching the batched job's trigger."""
    with connect(url) as conn:
        top = conn.execute("SELECT max(id) FROM openfn_message").fetchone()[0]
        low = top // 2 - REPROCESS // 2
        high = top // 4
        labs_low = conn.execute(
            "SELECT id FROM openfn_message WHERE body @> %s::jsonb AND id <= %s "
            "ORDER BY id DESC OFFSET %s LIMIT 1",
            ['{"formID": "lab_result"}', high, REPROCESS - 1],
        ).fetchone()[0]
    everything = ["registrations", "visits", "labs", "urgent-referrals"]
    return [
        (
            f"{REPROCESS:,} consecutive messages",
            {"project": PROJECT, "from_id": low, "to_id": low + REPROCESS - 1},
            everything,
        ),
        (
            f'{REPROCESS:,} messages of trigger "labs" (batched job)',
            {"project": PROJECT, "trigger": "labs", "from_id": labs_low, "to_id": high},
            ["labs"],
        ),
    ]


def measure_reprocess(
    env: environment.Environment,
    client: Any,
    loaded_at: dt.datetime,
    label: str,
    request: dict[str, Any],
    triggers: list[str],
) -> list[Row]:
    from openfn_airflow.inbox.dispatcher import Dispatcher, trigger_asset_uri

    url = env.db_url
    low, high = request["from_id"], request["to_id"]
    with connect(url) as conn:
        pending = conn.execute(
            "SELECT count(*) FROM openfn_dispatch WHERE dispatched_at IS NULL"
        ).fetchone()[0]
    assert pending == 0, f"{pending} dispatch rows pending before the reprocess"

    # Baseline 1: as many dispatch rows written by a plain INSERT (no trigger matching).
    with connect(url) as conn:
        began = time.perf_counter()
        with conn.transaction():
            conn.execute(
                "INSERT INTO openfn_dispatch (message_id, project, trigger, dispatched_at) "
                "SELECT d.message_id, d.project, d.trigger, now() FROM openfn_dispatch AS d "
                "WHERE d.message_id BETWEEN %s AND %s AND d.trigger = ANY(%s)",
                [low, high, triggers],
            )
        plain_queue = time.perf_counter() - began
    forget_bench_writes(url, loaded_at)

    # Ours: the API route, then the dispatcher until nothing is pending.
    began = time.perf_counter()
    answer = client.post(
        "/openfn/api/v1/messages/reprocess", json={**request, "received_after": "all"}
    )
    queued_s = time.perf_counter() - began
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["count"] == REPROCESS, result
    dispatcher = Dispatcher(url=url, sync_registry=False)
    began = time.perf_counter()
    dispatched = dispatcher.dispatch_pending()
    dispatch_s = time.perf_counter() - began
    with connect(url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM openfn_dispatch WHERE dispatched_at IS NULL"
        ).fetchone()[0]
        groups = conn.execute(
            "SELECT trigger, array_agg(message_id ORDER BY id) FROM openfn_dispatch "
            "WHERE created_at > %s GROUP BY trigger",
            [loaded_at],
        ).fetchall()
        events = conn.execute("SELECT count(*) FROM asset_event").fetchone()[0]
    assert left == 0, f"{left} dispatch rows still pending"
    forget_bench_writes(url, loaded_at)

    # Baseline 2: Airflow registering the same asset events itself, in batches as large. Events
    # of per-message jobs cost the same each: timed on the first AIRFLOW_SAMPLE, scaled up.
    from airflow.assets.manager import asset_manager
    from airflow.utils.session import create_session

    from openfn_airflow.airflow_db.assets import active_asset

    batch = dispatcher.batch_size
    per_message = sum(len(ids) for trigger, ids in groups if trigger != "labs")
    sampled, sample_s, batched_s = 0, 0.0, 0.0
    for trigger, ids in groups:
        if trigger != "labs":
            ids = ids[: AIRFLOW_SAMPLE - sampled]
            sampled += len(ids)
        began = time.perf_counter()
        for start in range(0, len(ids), batch):
            with create_session() as session:
                asset = active_asset(session, trigger_asset_uri(PROJECT, trigger))
                chunk = ids[start : start + batch]
                if trigger == "labs":  # the batched job: one event per batch
                    asset_manager.register_asset_change(
                        asset=asset, extra={"message_ids": chunk}, session=session
                    )
                else:
                    for message_id in chunk:
                        asset_manager.register_asset_change(
                            asset=asset,
                            extra={"message_ids": [message_id]},
                            partition_key=f"p-{message_id}",
                            session=session,
                        )
        if trigger == "labs":
            batched_s += time.perf_counter() - began
        else:
            sample_s += time.perf_counter() - began
    airflow_s = batched_s + (sample_s * per_message / sampled if sampled else 0.0)
    forget_bench_writes(url, loaded_at)
    total = queued_s + dispatch_s
    print(
        f"  reprocess {label}: {result}, dispatched {dispatched} rows in {dispatch_s:.2f} s, "
        f"{events} asset events",
        flush=True,
    )
    return [
        Row(
            f"reprocess {label} (API): queue {result['dispatches']:,} dispatch rows",
            f"{queued_s:.2f} s",
            f"{plain_queue:.2f} s (plain INSERT of as many rows)",
            f"{queued_s / plain_queue:.1f}x",
            "-",
            None,
        ),
        Row(
            f"reprocess {label}: dispatcher until all dispatched ({events:,} asset events)",
            f"{dispatch_s:.2f} s",
            f"{airflow_s:.2f} s (Airflow's register_asset_change alone"
            + (f"; {sampled:,} of {per_message:,} per-message events, scaled)" if sampled else ")"),
            f"{dispatch_s / airflow_s:.2f}x",
            "-",
            None,
        ),
        Row(
            f"reprocess {label}: queued + dispatched",
            f"{total:.2f} s",
            f"{plain_queue + airflow_s:.2f} s",
            f"{total / (plain_queue + airflow_s):.2f}x",
            f"< {REPROCESS_TARGET_S:.0f} s",
            total < REPROCESS_TARGET_S,
        ),
    ]


# --- main -----------------------------------------------------------------------------------


def machine() -> str:
    return (
        f"{dt.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Airflow {importlib.metadata.version('apache-airflow')}, "
        f"PostgreSQL {environment.server_version()}, load {os.getloadavg()[0]:.1f}"
    )


def print_table(rows: list[Row]) -> None:
    print("| measure | ours | baseline | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        if isinstance(row.met, str):
            met = row.met
        else:
            met = "-" if row.met is None else ("yes" if row.met else "**no**")
        print(
            f"| {row.measure} | {row.ours} | {row.baseline} | {row.ratio} | {row.target} | {met} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=30, help="timed calls per latency figure")
    parser.add_argument("--reload", action="store_true", help="load the messages again")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=MEASURES,
        default=MEASURES,
        help="measure only these (default: all)",
    )
    parser.add_argument("--child", choices=("api", "select"), help=argparse.SUPPRESS)
    parser.add_argument("--after", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # the export subprocess: the parent's environment is inherited
        export_child(args.child, args.after, environment._url("postgresql"))
        return 0

    began = time.perf_counter()
    load_start = os.getloadavg()
    env = environment.configure()
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = "admin:admin"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", os.urandom(32).hex())
    os.environ.setdefault("AIRFLOW__API__SECRET_KEY", os.urandom(32).hex())
    try:
        return run(env, args, began, load_start)
    finally:
        environment.remove(env)


def run(env: environment.Environment, args: argparse.Namespace, began: float, load_start) -> int:
    print(f"# bench/history.py, {machine()}", flush=True)
    record = None if args.reload else cached(env.db_url, args.messages)
    steps: dict[str, float] = {}
    if record is None:
        print(f"loading {args.messages:,} messages into {environment.DATABASE} ...", flush=True)
        t = time.perf_counter()
        environment.recreate_database()
        environment.migrate(env)
        steps["airflow db migrate"] = time.perf_counter() - t
    from openfn_airflow.store import schema

    t = time.perf_counter()
    schema.migrate(env.db_url)  # a cached database gets migrations added since its load
    steps["our migrations"] = time.perf_counter() - t
    build_dags_folder(env)
    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.database import connect as store_connect

    with store_connect(env.db_url) as conn:
        sync_projects(conn, env.dags_folder)
        conn.commit()
    sync_airflow_dags()
    if record is None:
        steps.update(load(env.db_url, args.messages))
        record = cached(env.db_url, args.messages)
        assert record is not None
    else:
        print(f"reusing the {args.messages:,} messages loaded at {record['loaded_at']}")
    forget_bench_writes(env.db_url, record["loaded_at"])
    with connect(env.db_url) as conn:
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('openfn_message')), "
            "avg(size_bytes)::int, (SELECT count(*) FROM openfn_dispatch), "
            "(SELECT count(*) FROM openfn_run) FROM openfn_message"
        ).fetchone()
    print(
        f"openfn_message {sizes[0]} with its indexes, bodies {sizes[1]} bytes on average; "
        f"{sizes[2]:,} dispatch rows, {sizes[3]:,} runs"
    )
    for step, seconds in steps.items():
        print(f"  {step}: {seconds:.1f} s")

    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    app = create_app()
    token = app.state.auth_manager.generate_jwt(
        SimpleAuthManagerUser(username="admin", role="admin")
    )
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})

    rows: list[Row] = []
    if "search" in args.only:
        rows += measure_search(env.db_url, client, args.samples)
    if "triggers" in args.only:
        rows += measure_triggers(env.db_url, client, args.samples)
    if "export" in args.only:
        rows += measure_export(env)
    if "reprocess" in args.only:
        for label, request, triggers in reprocess_ranges(env.db_url):
            rows += measure_reprocess(env, client, record["loaded_at"], label, request, triggers)

    print()
    print(f"# bench/history.py, {machine()}")
    print(
        f"{args.messages:,} messages over {DAYS} days; p95 over {args.samples} calls "
        f"(ILIKE baselines: at least 3 within ~{SLOW_BASELINE_BUDGET_S:.0f} s); "
        f"load average {load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
        f"{time.perf_counter() - began:.0f} s in all"
    )
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
