"""Benchmark the Inbox and Activity pages' render time over 1,000,000 messages and 1,000,000 runs.

Run from the repository root::

    .venv/bin/python bench/ui_pages.py [--messages 1000000] [--samples 30] [--reload]

Its own database, ``openfn_bench_ui``: ``airflow db migrate`` (Airflow's tables and ours), a
project ``ui`` with four message-filter triggers and their jobs, and the history, generated in
SQL (``INSERT ... SELECT`` over ``generate_series``, indexes built afterwards, as
bench/history.py loads): messages of four form kinds received over the last 60 days (names,
villages and notes drawn from a 5,000-word vocabulary with a skewed, Zipf-like frequency),
stored as the inbox stores them (search vector, ``response`` naming the matched triggers), and
one finished run per message (1 in 40 failed, 1 in 301 crashed, a short log). The load is kept:
a rerun finds the same database and skips it (``--reload`` forces it).

Measured: the full HTML response of ``GET /openfn/ui/inbox`` and ``GET /openfn/ui/runs`` with
their common filters (body / log text, trigger, job, status or latest run state, all time), as
Airflow's real api-server app serves them in-process (authentication, plugin, database, Jinja),
p50 and p95 over ``--samples`` requests after one warm-up. Baselines measured in the same run:
the JSON API call with the same filters alone (what the page reads), and the same page with an
empty result (a window in the future: framework, login and template without rows). Target:
p95 < 300 ms for every page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import math
import os
import platform
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("OPENFN_BENCH_DB", "openfn_bench_ui")

import environment  # noqa: E402  (reads OPENFN_BENCH_DB at import)
import psycopg  # noqa: E402

PROJECT = "ui"
INBOX_ID = "5d0c6f7e-2b1a-4e43-9c55-0a8b7e6d4c31"
GENERATOR_VERSION = 1  # bump when the data changes shape: cached databases are then reloaded
DAYS = 60
TARGET_MS = 300.0
VOCABULARY = 5_000
EMPTY_WINDOW = "2999-01-01"  # a lower time bound no row reaches: the page with an empty result

SPEC = f"""\
# The project bench/ui_pages.py stores its history in.
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
  referrals:
    criteria: {{formID: referral}}
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
    trigger: referrals
"""
FORMS = ("patient_registration", "household_visit", "lab_result", "referral")
JOBS = ("register", "visit", "labs", "refer")  # the job of each form, in the same order
TRIGGERS = ("registrations", "visits", "labs", "referrals")


def vocabulary(size: int = VOCABULARY, seed: int = 5) -> list[str]:
    """Pseudo-words of two to four syllables, most frequent first."""
    rng = random.Random(seed)
    consonants = [*"bdfghjklmnprstvwyz", "ch", "sh", "ny", "mb", "nd", "ng"]
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        word = "".join(
            rng.choice(consonants) + rng.choice("aeiou") for _ in range(rng.choice((2, 3, 3, 4)))
        )
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


# A word of the vocabulary, skewed towards the first ones: w[floor(n ^ random())] is log-uniform.
WORD = "w[least(floor(power(%(n)s::float, random()))::int, %(n)s)]"

INSERT_MESSAGES = f"""
INSERT INTO openfn_message (
    id, project, body, headers, method, path, query, received_at, search_vector,
    idempotency_key, response, content_type, size_bytes
)
OVERRIDING SYSTEM VALUE
SELECT g.id, %(project)s, g.body,
       '{{"content-type": "application/json", "user-agent": "ODK Collect/2024.3"}}'::jsonb,
       'POST', %(path)s, NULL, g.received_at,
       jsonb_to_tsvector('simple', g.body, '["string", "numeric"]'),
       NULL,
       jsonb_build_object('message_id', g.id, 'matched',
           CASE WHEN g.body ? 'test' AND g.form = 1 THEN '[]'::jsonb
                ELSE jsonb_build_array((%(triggers)s::text[])[g.form]) END),
       'application/json', length(g.body::text)
FROM (
    SELECT s.id, s.received_at, s.form,
           jsonb_strip_nulls(jsonb_build_object(
               'formID', (%(forms)s::text[])[s.form],
               'instanceID', 'uuid:' || md5(s.id::text),
               'patient', jsonb_build_object(
                   'name', initcap({WORD}) || ' ' || initcap({WORD}),
                   'age', mod(s.id * 7, 95),
                   'sex', CASE WHEN mod(s.id, 2) = 0 THEN 'F' ELSE 'M' END,
                   'village', initcap({WORD})),
               'notes', array_to_string(ARRAY(
                   SELECT {WORD} FROM generate_series(1, 10 + mod(s.id, 5)::int)), ' '),
               'value', round((mod(s.id * 37, 3000) / 10.0)::numeric, 1),
               'test', CASE WHEN mod(s.id, 50) = 0 THEN true END)) AS body
    FROM (
        SELECT i AS id, 1 + mod(i * 7919, 4)::int AS form,
               %(start)s::timestamptz + (%(step)s::interval * (i - 1)) AS received_at
        FROM generate_series(%(low)s::bigint, %(high)s::bigint) AS i
    ) AS s, (SELECT %(words)s::text[] AS w) AS v
) AS g
"""

INSERT_RUNS = """
INSERT INTO openfn_run (
    id, project, job, message_id, trigger, dag_id, dag_run_id, task_id, try_number, started_at,
    finished_at, status, exit_code, log, created_at
)
OVERRIDING SYSTEM VALUE
SELECT m.id, m.project, j.job, m.id, 'message', 'openfn__ui__' || j.job,
       'asset_triggered__' || m.id, 'run', 1,
       m.received_at + interval '2 seconds', m.received_at + interval '3 seconds',
       CASE WHEN mod(m.id, 40) = 0 THEN 'failed' WHEN mod(m.id, 301) = 0 THEN 'crashed'
            ELSE 'success' END,
       CASE WHEN mod(m.id, 40) = 0 THEN 1 WHEN mod(m.id, 301) = 0 THEN -9 ELSE 0 END,
       'Starting ' || j.job || ' for message ' || m.id || E'\\n'
           || CASE WHEN mod(m.id, 40) = 0 THEN 'TypeError: cannot read patient.age of undefined'
                   ELSE 'Finished in ' || (mod(m.id, 900) + 40) || ' ms' END,
       m.received_at + interval '1 second'
FROM openfn_message AS m
JOIN (SELECT unnest(%(forms)s::text[]) AS form, unnest(%(jobs)s::text[]) AS job) AS j
    ON j.form = m.body ->> 'formID'
WHERE m.id BETWEEN %(low)s AND %(high)s
"""

LOADED_TABLES = ("openfn_message", "openfn_run")


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def cached(url: str, messages: int) -> dict[str, Any] | None:
    """The load's record when the database holds this bench's data, else None."""
    try:
        with connect(url) as conn:
            row = conn.execute(
                "SELECT messages, generator, loaded_at FROM bench_ui_meta"
            ).fetchone()
    except psycopg.Error:
        return None
    if row is None or row[0] != messages or row[1] != GENERATOR_VERSION:
        return None
    return {"messages": row[0], "loaded_at": row[2]}


def in_parallel(url: str, statements: list[tuple[str, dict[str, Any]]]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def run(item: tuple[str, dict[str, Any]]) -> None:
        with connect(url) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET maintenance_work_mem = '512MB'")
            conn.execute(item[0], item[1])

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, statements))


def load(url: str, total: int) -> dict[str, float]:
    """Store ``total`` messages and as many runs; return the seconds of each step."""
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
    halves = [(1, total // 2), (total // 2 + 1, total)]
    common = {
        "project": PROJECT,
        "path": f"/openfn/inbox/{INBOX_ID}",
        "forms": list(FORMS),
        "jobs": list(JOBS),
        "triggers": list(TRIGGERS),
        "words": vocabulary(),
        "n": VOCABULARY,
        "start": loaded_at - dt.timedelta(days=DAYS),
        "step": dt.timedelta(days=DAYS) / total,
    }
    for label, statement in (("messages", INSERT_MESSAGES), ("runs", INSERT_RUNS)):
        began = time.perf_counter()
        in_parallel(url, [(statement, {**common, "low": lo, "high": hi}) for lo, hi in halves])
        steps[f"insert {label}"] = time.perf_counter() - began
        print(f"  {label}: {steps[f'insert {label}']:.0f} s", flush=True)
    began = time.perf_counter()
    with connect(url) as conn:
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
            "CREATE TABLE bench_ui_meta AS SELECT %s::integer AS messages, "
            "%s::integer AS generator, %s::timestamptz AS loaded_at",
            [total, GENERATOR_VERSION, loaded_at],
        )
    steps["vacuum analyze"] = time.perf_counter() - began
    steps["load in all"] = time.perf_counter() - started
    return steps


def build_dags_folder(env: environment.Environment) -> None:
    env.dags_folder.mkdir(parents=True, exist_ok=True)
    for name in ("openfn_jobs.py", ".airflowignore"):
        shutil.copy2(environment.REPO / "dags" / name, env.dags_folder / name)
    project = env.dags_folder / PROJECT
    (project / "jobs").mkdir(parents=True, exist_ok=True)
    (project / "project.yaml").write_text(SPEC)
    shutil.copy2(environment.BENCH / "project" / "jobs" / "mark.py", project / "jobs" / "mark.py")


# --- measuring ------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * fraction) - 1)]


@dataclass
class Latency:
    p50: float  # ms
    p95: float

    def __str__(self) -> str:
        return f"{self.p50:.0f} / {self.p95:.0f}"


def latency(call: Callable[[], object], samples: int) -> Latency:
    call()  # warm-up
    times: list[float] = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return Latency(percentile(times, 0.5), percentile(times, 0.95))


def words_to_search(url: str) -> dict[str, str]:
    """A common and a rare word of the loaded bodies."""
    words = vocabulary()
    return {"common": words[1], "rare": words[3_000]}


def variants(words: dict[str, str]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(screen, label, API path, parameters) of each page measured."""
    project = {"project": PROJECT}
    return [
        ("inbox", "default (30 days)", "/messages", {}),
        (
            "inbox",
            f'body text, common word "{words["common"]}"',
            "/messages",
            {"q": words["common"]},
        ),
        ("inbox", f'body text, rare word "{words["rare"]}"', "/messages", {"q": words["rare"]}),
        ("inbox", "trigger visits", "/messages", {**project, "trigger": "visits"}),
        ("inbox", "latest run failed", "/messages", {"run_state": "failed"}),
        (
            "inbox",
            "job refer, latest run failed",
            "/messages",
            {**project, "job": "refer", "run_state": "failed"},
        ),
        ("inbox", "all time", "/messages", {"received_after": "all"}),
        ("inbox", "all time, 200 per page", "/messages", {"received_after": "all", "limit": 200}),
        ("activity", "default (30 days)", "/runs", {}),
        ("activity", 'log text "TypeError"', "/runs", {"q": "TypeError"}),
        ("activity", "job visit", "/runs", {**project, "job": "visit"}),
        ("activity", "status failed", "/runs", {"status": "failed"}),
        (
            "activity",
            "status crashed, job labs",
            "/runs",
            {**project, "status": "crashed", "job": "labs"},
        ),
        ("activity", "all time", "/runs", {"after": "all"}),
    ]


@dataclass
class Row:
    screen: str
    label: str
    page: Latency
    api: Latency
    empty: Latency
    bytes: int
    shown: int

    @property
    def met(self) -> bool:
        return self.page.p95 < TARGET_MS


def measure(client: Any, url: str, samples: int) -> list[Row]:
    rows: list[Row] = []
    empty: dict[str, Latency] = {}
    for screen, path, window in (
        ("inbox", "/inbox", "received_after"),
        ("activity", "/runs", "after"),
    ):

        def empty_page(path: str = path, window: str = window) -> None:
            answer = client.get(f"/openfn/ui{path}", params={window: EMPTY_WINDOW})
            assert answer.status_code == 200 and "matches these filters" in answer.text

        empty[screen] = latency(empty_page, samples)
    for screen, label, api_path, params in variants(words_to_search(url)):
        page_path = "/inbox" if screen == "inbox" else "/runs"

        def page(page_path: str = page_path, params: dict[str, Any] = params) -> Any:
            answer = client.get(f"/openfn/ui{page_path}", params=params)
            assert answer.status_code == 200 and "data-error" not in answer.text, answer.text[:300]
            return answer

        def api(api_path: str = api_path, params: dict[str, Any] = params) -> None:
            answer = client.get(f"/openfn/api/v1{api_path}", params=params)
            assert answer.status_code == 200, answer.text

        html = page().text
        shown = html.count('<td class="num"><a href=')
        row = Row(
            screen,
            label,
            latency(page, samples),
            latency(api, samples),
            empty[screen],
            len(html),
            shown,
        )
        rows.append(row)
        print(f"{screen} {label}: page {row.page} ms, API {row.api} ms, {shown} rows", flush=True)
    return rows


def print_table(rows: list[Row]) -> None:
    lines = [
        "| page | filters | rows | HTML | page p50 / p95 ms | JSON API alone p50 / p95 ms "
        "| empty page p50 / p95 ms | page / API (p95) | < 300 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.screen} | {r.label} | {r.shown} | {r.bytes / 1024:.0f} KB | {r.page} | {r.api} "
            f"| {r.empty} | {r.page.p95 / r.api.p95:.2f}x | {'yes' if r.met else '**no**'} |"
        )
    print("\n".join(lines))


def machine() -> str:
    return (
        f"{dt.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Airflow {importlib.metadata.version('apache-airflow')}, "
        f"PostgreSQL {environment.server_version()}, load {os.getloadavg()[0]:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=30, help="timed requests per figure")
    parser.add_argument("--reload", action="store_true", help="load the history again")
    args = parser.parse_args()
    began = time.perf_counter()
    env = environment.configure()
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = "admin:admin"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", os.urandom(32).hex())
    os.environ.setdefault("AIRFLOW__API__SECRET_KEY", os.urandom(32).hex())
    try:
        return run(env, args, began)
    finally:
        environment.remove(env)


def run(env: environment.Environment, args: argparse.Namespace, began: float) -> int:
    load_start = os.getloadavg()[0]
    print(f"# bench/ui_pages.py, {machine()}", flush=True)
    record = None if args.reload else cached(env.db_url, args.messages)
    steps: dict[str, float] = {}
    if record is None:
        print(f"loading {args.messages:,} messages and runs into {environment.DATABASE} ...")
        t = time.perf_counter()
        environment.recreate_database()
        environment.migrate(env)
        steps["airflow db migrate"] = time.perf_counter() - t
    from openfn_airflow.store import schema

    schema.migrate(env.db_url)  # a cached database gets migrations added since its load
    build_dags_folder(env)
    from openfn_airflow.inbox.registry import sync_projects
    from openfn_airflow.store.database import connect as store_connect

    with store_connect(env.db_url) as conn:
        sync_projects(conn, env.dags_folder)
        conn.commit()
    if record is None:
        steps.update(load(env.db_url, args.messages))
        record = cached(env.db_url, args.messages)
        assert record is not None
    else:
        print(f"reusing the {args.messages:,} messages and runs loaded at {record['loaded_at']}")
    for step, seconds in steps.items():
        print(f"  {step}: {seconds:.1f} s")
    with connect(env.db_url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM openfn_message), (SELECT count(*) FROM openfn_run)"
        ).fetchone()
    assert counts is not None

    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    app = create_app()
    token = app.state.auth_manager.generate_jwt(
        SimpleAuthManagerUser(username="admin", role="admin")
    )
    client = TestClient(app)
    client.cookies.set("_token", token)  # as Airflow's UI holds it after its login page
    rows = measure(client, env.db_url, args.samples)
    print()
    header = (
        f"{machine()}; {counts[0]:,} messages and {counts[1]:,} runs over {DAYS} days; "
        f"p50 / p95 over {args.samples} requests through Airflow's api-server app in-process "
        f"(cookie login, as the UI); load average {load_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end; {time.perf_counter() - began:.0f} s in all."
    )
    print(header)
    print()
    print_table(rows)
    missed = [r for r in rows if not r.met]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} pages under {TARGET_MS:.0f} ms (p95).")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
