"""Benchmark JavaScript jobs against Python jobs and OpenFn's own engine-multi (issue 10), in one run.

Run it from the repository root, with nothing else heavy on the machine::

    flock /tmp/heavy.lock .venv/bin/python bench/js_runtime.py                # about 2 minutes
    flock /tmp/heavy.lock .venv/bin/python bench/js_runtime.py --samples 3 --batch 20

The job is trivial on both sides (``fn(state => state)`` on the adaptor, default
``@openfn/language-http@7.2.10``, and ``operations = [fn(lambda state: state)]`` in Python), so
what is measured is the engine, not the job. Each run's input is a message in the inbox of a
fresh database (``openfn_bench_js_runtime``, our migrations only), and every run must end in the
ledger as ``success`` with the message's body as its final data, or the bench fails.

- **per-message** (one ledger run per task): a fresh Python process, as Airflow's task process
  would be, opens the job's session through the task protocol (``openfn_airflow.tasks.JobTask``;
  ``engine_for(code).open`` plus ``runs.start_run`` / ``finish_run`` when the protocol package is
  not there, ``--via engine``) and records one run in PostgreSQL. Time: from just before the
  process is spawned to the run's ``finish_run`` committed. CPU: the process and everything it
  started (``wait4``), plus the whole life of the warm spare runner a JavaScript task claims (left
  by the task before it, outliving that task: the bench adopts such orphans as subreaper and
  reaps them). Between samples the bench waits for the next spare to be ready; the "back to
  back" series does not (the spare is still importing its adaptor when it is claimed). Airflow's
  own start-up (its imports, the DAG parse) is not in it: it is the same for both languages and
  is measured by ``bench/runtime.py``.
- **batched** (one task, N runs): one such process, one session, N runs; per run: the time and
  the CPU of the bench's process tree (``/proc``: the task, its runner, the spare it leaves)
  between the session being open and the N-th run recorded, divided by N.
- **engine-multi**: OpenFn's own engine (``bench/js``, with openfn-airflow's compiler standing in
  for ``@openfn/compiler``) on the same job and the same adaptors repository, driven by
  ``bench/js/engine_multi.mjs``. Per-message: a fresh Node process creates a fresh engine and runs
  once (time from ``createEngine()`` to ``workflow-complete``; the process's start is shown too).
  Batched: a warm engine (created, one run done) runs N times.

Samples are taken in rounds (Python, JavaScript, engine-multi in turn), so a change of load hits
all three; medians are printed, with the load average before and after. Targets (issue 10): a
batched JavaScript run costs at most 1/10 of engine-multi's per run (CPU and time), and the
per-message task-start-to-finished time is at most half of engine-multi's fresh-engine time.
PostgreSQL: ``OPENFN_BENCH_PG`` (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
BENCH_JS = BENCH / "js"
RUNTIME_JS = REPO / "openfn_airflow" / "runtime" / "js"
PROJECT, JOB = "bench", "trivial"
JS_JOB = "fn(state => state);\n"
PY_JOB = (
    '"""The bench\'s trivial job: hand the state on unchanged."""\n\n'
    "from openfn_airflow.runtime import fn\n\n"
    "operations = [fn(lambda state: state)]\n"
)
#: What the operator passes a job by default ([openfn] job_memory_limit), and a timeout so that
#: the engines enforce one, as real jobs have.
MEMORY_LIMIT_MB, TIMEOUT = 1024, 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# The task process (started by the bench with --task-child): what an Airflow job task does.
# --------------------------------------------------------------------------------------------


def _say(**value: Any) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def task_child(spec: dict[str, Any]) -> int:
    """Open the job's session, run it once per message, record each run; say when it is done."""
    from openfn_airflow.runtime.engines import JobCode, engine_for
    from openfn_airflow.store import database

    imported = time.monotonic()
    code = JobCode(
        spec["file"],
        adaptors=tuple(spec["adaptors"]),
        timeout=TIMEOUT,
        memory_limit_mb=MEMORY_LIMIT_MB,
        adaptors_path=spec["adaptors_path"],
    )
    engine = HeldEngine(engine_for(code), hold=spec["hold"])
    connect = lambda: database.connect(spec["db_url"])  # noqa: E731
    if spec["via"] == "protocol":
        from openfn_airflow.tasks import JobTask, TaskIdentity, TaskTrigger

        task = JobTask(project=PROJECT, job=JOB, code=code, connect=connect, engine=engine)
        outcome = task.run(
            TaskIdentity(dag_id=f"openfn__{PROJECT}__{JOB}", run_id=spec["run_id"], task_id="run"),
            TaskTrigger(
                kind="message",
                run_type="asset_triggered",
                event_extras=({"message_ids": spec["message_ids"]},),
            ),
        )
        ids, failures = outcome.ledger_ids, outcome.failures
    else:
        ids, failures = _run_through_engine(spec, code, engine, connect)
    _say(event="done", t=time.monotonic(), imported=imported, runs=ids, failures=failures)
    if spec["hold"]:
        sys.stdin.readline()  # the bench reads this process tree's CPU first
    return 0


@dataclass
class HeldEngine:
    """The job's engine; with ``hold``, says when the session is open and waits for a go."""

    inner: Any
    hold: bool

    @contextlib.contextmanager
    def open(self, code: Any, configuration: dict[str, Any] | None) -> Iterator[Any]:
        with self.inner.open(code, configuration) as session:
            if self.hold:
                _say(event="ready", t=time.monotonic())
                sys.stdin.readline()
            _say(event="go", t=time.monotonic())
            yield session


def _run_through_engine(
    spec: dict[str, Any], code: Any, engine: HeldEngine, connect: Any
) -> tuple[list[int], list[str]]:
    """What the protocol does for message runs, without it: start, run and finish each run."""
    from openfn_airflow.store import messages, runs

    try:
        from openfn_airflow.tasks.inputs import message_state
    except ImportError:  # before the protocol package: the DAG layer held it
        from openfn_airflow.dags.inputs import message_state  # type: ignore[no-redef]

    ids, failures = [], []
    with contextlib.closing(connect()) as conn, engine.open(code, None) as session:
        for message_id in spec["message_ids"]:
            message = messages.get_message(conn, message_id)
            if message is None:
                raise BenchError(f"message {message_id} is not in the bench's database")
            state = message_state(message)
            run_id = runs.start_run(
                conn,
                project=PROJECT,
                job=JOB,
                trigger="message",
                initial_state=state,
                message_id=message_id,
                dag_id=f"openfn__{PROJECT}__{JOB}",
                dag_run_id=spec["run_id"],
                task_id="run",
                try_number=1,
            )
            conn.commit()
            result = session.run(state)
            runs.finish_run(
                conn,
                run_id,
                status=result.status,
                exit_code=int(result.exit_code),
                log=result.log,
                final_state=result.final_state,
            )
            conn.commit()
            ids.append(run_id)
            if int(result.exit_code) != 0:
                failures.append(f"run {run_id}: {result.status}")
    return ids, failures


# --------------------------------------------------------------------------------------------
# Measuring processes
# --------------------------------------------------------------------------------------------


def become_subreaper() -> None:
    """Adopt every orphaned descendant, so the CPU of what a task leaves behind is not lost.

    A JavaScript task leaves a warm spare runner (its own session, outliving the task) that the
    next task claims and kills: that process does the next task's work but is nobody's child.
    Adopted, it is reaped here and its CPU counted for the run it served.
    """
    import ctypes

    pr_set_child_subreaper = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, state, CPU seconds of its threads and of its children it reaped)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # ended meanwhile
        fields = text[text.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime
        found[int(entry)] = (int(fields[1]), fields[0], sum(map(int, fields[11:15])) / CLK_TCK)
    return found


def subtree_cpu() -> float:
    """CPU seconds of every live descendant of this process and of every child it reaped."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    own = os.times()
    total, stack = own.children_user + own.children_system, list(children.get(os.getpid(), ()))
    while stack:
        pid = stack.pop()
        total += processes[pid][2]
        stack.extend(children.get(pid, ()))
    return total


def reap_orphans(wait_for: set[int], timeout: float = 3.0) -> float:
    """Reap the adopted children that ended, waiting for those in ``wait_for``; their CPU.

    Called only once the bench's own child has been waited for: every other child of the bench
    is a process a task left behind.
    """
    cpu, deadline = 0.0, time.monotonic() + timeout
    while True:
        for pid, (parent, state, _) in _processes().items():
            if parent == os.getpid() and state == "Z":
                _, _, usage = os.wait4(pid, 0)
                cpu += usage.ru_utime + usage.ru_stime
                wait_for.discard(pid)
        if not wait_for or time.monotonic() > deadline:
            return cpu
        time.sleep(0.02)


@dataclass
class Spares:
    """The warm spare runners waiting in the bench's adaptors repository (``.spares/``)."""

    repo: Path

    def waiting(self) -> set[int]:
        pids = set()
        for path in self.repo.glob(".spares/*/*.pid"):
            with contextlib.suppress(OSError, ValueError):
                if path.with_suffix(".sock").exists():
                    pids.add(int(path.read_text()))
        return pids

    def settle(self, appear: float = 2.0, timeout: float = 20.0) -> None:
        """Wait until a spare waits and has stopped using CPU (its adaptors are imported).

        Returns at once when no spare shows up within ``appear`` seconds (an engine without
        spares).
        """
        started, last = time.monotonic(), -1.0
        while time.monotonic() < started + timeout:
            pids = self.waiting()
            if not pids and time.monotonic() > started + appear:
                return
            processes = _processes()
            cpu = sum(processes[pid][2] for pid in pids if pid in processes)
            if pids and cpu == last:
                return
            last = cpu
            time.sleep(0.25)

    def end(self) -> None:
        """Kill the spares this bench's tasks left (its own descendants only) and reap them."""
        for pid in self.waiting():
            if _processes().get(pid, (0,))[0] == os.getpid():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
        reap_orphans(set(), timeout=0.5)


@dataclass
class Sample:
    """One measured process: its time to the last run finished and its CPU, per run."""

    seconds: float  # per run
    cpu: float  # per run
    extra: dict[str, float] = field(default_factory=dict)


class Child:
    """A bench process speaking JSON lines on stdout, reading go-lines on stdin."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.spawned = time.monotonic()
        self.name = Path(argv[1]).name
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )

    def expect(self, event: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not ours (a library writing on stdout)
            if message.get("event") == event:
                return message
        self.process.wait()
        raise BenchError(f"{self.name} ended before {event!r}: {self.stderr()}")

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read()[-3000:]

    def wait_cpu(self) -> float:
        """Wait for the process's end; its CPU and that of every child it waited for."""
        if self.process.stdin:
            self.process.stdin.close()
        _, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        if self.process.returncode != 0:
            raise BenchError(f"{self.name} exited {self.process.returncode}: {self.stderr()}")
        return usage.ru_utime + usage.ru_stime


class BenchError(Exception):
    """A contender failed to run the job: the bench reports nothing rather than a wrong figure."""


@dataclass
class Setup:
    db_url: str
    adaptors_path: Path
    adaptor: str
    jobs: dict[str, Path]
    via: str
    next_message: Iterator[int] = iter(())
    counter: int = 0

    @property
    def spares(self) -> Spares:
        return Spares(self.adaptors_path)

    def messages(self, count: int) -> list[int]:
        return [next(self.next_message) for _ in range(count)]


def held(child: Child) -> tuple[dict[str, Any], float, float, float]:
    """Let a held process go on from "ready": its "done" line, when it was ready, when it went
    on and its CPU since."""
    ready = child.expect("ready")
    cpu0, started = subtree_cpu(), time.monotonic()
    child.go()
    done = child.expect("done")
    return done, ready.get("t", started), started, subtree_cpu() - cpu0


def ours(setup: Setup, language: str, runs: int, hold: bool, settle: bool = True) -> Sample:
    """One task process of ours on ``runs`` messages; checks every run in the ledger."""
    setup.counter += 1
    message_ids = setup.messages(runs)
    spec = {
        "file": str(setup.jobs[language]),
        "adaptors": [setup.adaptor] if language == "javascript" else [],
        "adaptors_path": str(setup.adaptors_path),
        "db_url": setup.db_url,
        "via": setup.via,
        "hold": hold,
        "run_id": f"bench-{language}-{setup.counter}",
        "message_ids": message_ids,
    }
    spares = setup.spares.waiting()
    child = Child([sys.executable, __file__, "--task-child", json.dumps(spec)], env=_task_env())
    if hold:
        done, ready, started, cpu = held(child)
        child.wait_cpu()
        reap_orphans(set())
        # The whole task without the bench's pause: spawn to ready, then go to the last run.
        task = (ready - child.spawned) + (done["t"] - started)
        sample = Sample((done["t"] - started) / runs, cpu / runs, {"task": task})
    else:
        go = child.expect("go")
        done = child.expect("done")
        cpu = child.wait_cpu()
        # The spare this task claimed did its work: its whole life is this run's.
        claimed = spares - setup.spares.waiting()
        spare_cpu = reap_orphans(set(claimed))
        sample = Sample(
            done["t"] - child.spawned,
            cpu + spare_cpu,
            {
                "imported": done["imported"] - child.spawned,
                "open": go["t"] - child.spawned,
                "spare_cpu": spare_cpu,
                "warm": float(bool(claimed)),
            },
        )
    if done["failures"] or len(done["runs"]) != runs:
        raise BenchError(f"{language} runs failed: {done['failures'][:3]} (of {done['runs']})")
    check_ledger(setup, done["runs"], message_ids)
    if settle and language == "javascript":
        setup.spares.settle()  # the next sample (of any kind) does not share the cores with it
    return sample


def _task_env() -> dict[str, str]:
    """The task process's environment: this one's, with bytecode cached as an install would."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def check_ledger(setup: Setup, run_ids: list[int], message_ids: list[int]) -> None:
    """Every run succeeded and handed its message's body on unchanged."""
    import psycopg

    with psycopg.connect(setup.db_url) as conn:
        rows = conn.execute(
            "SELECT r.id, r.status, r.final_state -> 'data' = m.body AS same"
            " FROM openfn_run r JOIN openfn_message m ON m.id = r.message_id"
            " WHERE r.id = ANY(%s) AND r.message_id = ANY(%s)",
            (run_ids, message_ids),
        ).fetchall()
    bad = [row for row in rows if row[1] != "success" or not row[2]]
    if len(rows) != len(run_ids) or bad:
        raise BenchError(f"ledger runs not as expected: {bad[:3] or rows[:3]}")


def engine_multi(setup: Setup, runs: int, hold: bool) -> Sample:
    """One Node process running the job ``runs`` times on engine-multi."""
    child = Child(
        [
            "node",
            str(BENCH_JS / "engine_multi.mjs"),
            f"--repo={setup.adaptors_path}",
            f"--job={setup.jobs['javascript']}",
            f"--adaptor={setup.adaptor}",
            f"--runs={runs}",
            *(["--hold"] if hold else []),
        ]
    )
    engine = child.expect("engine")
    if hold:
        done, _, _, cpu = held(child)
        child.go()
        child.wait_cpu()
        _reap_leftovers(setup)
        first, last = done["runs"][0][0], done["runs"][-1][1]
        return Sample((last - first) / runs, cpu / runs)
    done = child.expect("done")
    cpu = child.wait_cpu() + _reap_leftovers(setup)
    end = done["runs"][-1][1]
    return Sample(
        end - engine["start"],
        cpu,
        {"process": end - child.spawned, "engine": engine["ready"] - engine["start"]},
    )


def _reap_leftovers(setup: Setup) -> float:
    """Wait for the processes engine-multi left running (its pool's child process can outlive
    ``engine.destroy()`` and the driver) and return their CPU: it did the run."""
    adopted = {pid for pid, (parent, _, _) in _processes().items() if parent == os.getpid()}
    return reap_orphans(adopted - setup.spares.waiting(), timeout=10.0)


# --------------------------------------------------------------------------------------------
# Setting up
# --------------------------------------------------------------------------------------------


def prepare_database() -> str:
    """A fresh database holding our tables only; returns its URL."""
    import environment

    from openfn_airflow.store import schema

    environment.recreate_database()
    url = environment._url("postgresql")
    schema.migrate(url)
    return url


def insert_messages(db_url: str, count: int) -> Iterator[int]:
    import psycopg

    from openfn_airflow.store import messages

    with psycopg.connect(db_url) as conn:
        ids = [
            messages.insert_message(conn, project=PROJECT, body={"n": n, "name": f"patient {n}"})
            for n in range(count)
        ]
        conn.commit()
    return iter(ids)


def adaptors_repository(adaptor: str, work: Path) -> Path:
    """A copy of the tests' shared adaptors repository, with ``adaptor`` installed.

    A copy, so that the warm spares our tasks leave in it (``.spares/``) are the bench's own:
    no test running meanwhile claims one, and no spare of theirs serves the bench.
    """
    sys.path.insert(0, str(REPO))
    from openfn_airflow.runtime import adaptors_repo as repository
    from tests.adaptors import PACKAGES, adaptors_repo

    shared = adaptors_repo()
    if adaptor not in PACKAGES:
        repository.install(shared, [adaptor])
    copy = work / "adaptors"
    shutil.copytree(shared, copy, symlinks=True, ignore=shutil.ignore_patterns(".spares", ".lock"))
    return copy


def install_engine_multi() -> None:
    """``npm ci`` in bench/js when its node_modules is missing or older than the lock file."""
    installed = BENCH_JS / "node_modules" / ".package-lock.json"
    lock = BENCH_JS / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    print("installing engine-multi into bench/js (npm ci) ...", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=BENCH_JS,
        check=True,
        timeout=600,
    )


def js_engine_missing() -> str | None:
    """Why our JavaScript engine cannot be measured yet, or None when it can."""
    for path in (
        RUNTIME_JS / "runner.mjs",
        RUNTIME_JS / "compiler.mjs",
        REPO / "openfn_airflow/runtime/node.py",
    ):
        if not path.exists():
            return f"{path.relative_to(REPO)} is not there yet"
    return None


def protocol_present() -> bool:
    try:
        from openfn_airflow.tasks import JobTask  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def median(samples: list[Sample], key: str = "seconds") -> float | None:
    """The median of one figure of the samples; None when they do not have it."""
    if key in ("seconds", "cpu"):
        return statistics.median(getattr(s, key) for s in samples)
    values = [s.extra[key] for s in samples if key in s.extra]
    return statistics.median(values) if values else None


def ms(value: float | None) -> str:
    if value is None:
        return "not available"
    return f"{value * 1000:.2f} ms" if value < 0.01 else f"{value * 1000:.1f} ms"


def verdict(ours_value: float | None, theirs: float, limit: float) -> tuple[bool, str]:
    if ours_value is None:
        return False, "FAIL (not available: our JavaScript engine is not there yet)"
    ratio = ours_value / theirs
    met = ratio <= limit
    return (
        met,
        f"{'PASS' if met else 'FAIL'}: {ms(ours_value)} / {ms(theirs)} = {ratio:.3f} (target <= {limit:g})",
    )


WHO = {
    "python": "Python, ours",
    "javascript": "JavaScript, ours",
    "engine-multi": "engine-multi 1.13.0",
}


def report(results: dict[str, dict[str, list[Sample]]], batch: int) -> bool:
    """Print the figures and the targets; True when every target is met."""

    def med(who: str, mode: str, key: str = "seconds") -> float | None:
        samples = results.get(who, {}).get(mode)
        return median(samples, key) if samples else None

    rows = (
        ("per-message: task start to run finished", "single", "seconds"),
        ("per-message: CPU per run", "single", "cpu"),
        ("per-message back to back: start to finished", "back to back", "seconds"),
        ("per-message back to back: CPU per run", "back to back", "cpu"),
        (f"batched ({batch} runs): task start to last run finished", "batched", "task"),
        (f"batched ({batch} runs): time per run", "batched", "seconds"),
        (f"batched ({batch} runs): CPU per run", "batched", "cpu"),
    )
    print(f"\n{'median of each':46}" + "".join(f"{title:>22}" for title in WHO.values()))
    for title, mode, key in rows:
        cells = ["-" if med(who, mode, key) is None else ms(med(who, mode, key)) for who in WHO]
        if "javascript" not in results and mode != "back to back":
            cells[1] = "not available"
        print(f"{title:46}" + "".join(f"{cell:>22}" for cell in cells))
    details = (
        ("python", "imported", "Python per-message: imports done"),
        ("python", "open", "Python per-message: session open"),
        ("javascript", "imported", "JavaScript per-message: imports done"),
        ("javascript", "open", "JavaScript per-message: session open"),
        (
            "javascript",
            "spare_cpu",
            "JavaScript per-message: CPU of the spare it used (in its CPU)",
        ),
        ("javascript", "warm", "JavaScript per-message: share of tasks that found a spare"),
        ("engine-multi", "engine", "engine-multi per-message: createEngine() alone"),
        ("engine-multi", "process", "engine-multi per-message: from the Node process's spawn"),
    )
    for who, key, title in details:
        samples = results.get(who, {}).get("single")
        if samples:
            value = (
                statistics.mean(s.extra[key] for s in samples)
                if key == "warm"
                else median(samples, key)
            )
            print(f"  {title}: {f'{value:.0%}' if key == 'warm' else ms(value)}")
    single = results.get("javascript", {}).get("single")
    if single:
        print(
            f"  JavaScript batched, once per task and not in its per-run figures: the process and"
            f" session start ({ms(median(single, 'open'))}) and one spare left for the next task"
            f" ({ms(median(single, 'spare_cpu'))} CPU)"
        )
    back = results.get("javascript", {}).get("back to back")
    if back:
        warm = statistics.mean(s.extra["warm"] for s in back)
        print(f"  JavaScript back to back: share of tasks that found a spare: {warm:.0%}")
    em_single, em_batched = med("engine-multi", "single"), med("engine-multi", "batched")
    em_batched_cpu = med("engine-multi", "batched", "cpu")
    assert em_single is not None and em_batched is not None and em_batched_cpu is not None
    checks = (
        (
            "batched: JS CPU per run <= 1/10 of engine-multi's (warm engine)",
            med("javascript", "batched", "cpu"),
            em_batched_cpu,
            0.1,
        ),
        (
            "batched: JS time per run <= 1/10 of engine-multi's (warm engine)",
            med("javascript", "batched"),
            em_batched,
            0.1,
        ),
        (
            "per-message: JS start-to-finished <= 1/2 of engine-multi's (fresh engine)",
            med("javascript", "single"),
            em_single,
            0.5,
        ),
    )
    print("\nTargets (issue 10):")
    passed = True
    for title, ours_value, theirs, limit in checks:
        met, line = verdict(ours_value, theirs, limit)
        passed = passed and met
        print(f"  {title}: {line}")
    print("For reference, not targets:")
    references: tuple[tuple[str, float | None, float | None], ...] = (
        (
            "per-message JS against engine-multi's warm per-run time",
            med("javascript", "single"),
            em_batched,
        ),
        (
            "per-message JS back to back against engine-multi's fresh engine",
            med("javascript", "back to back"),
            em_single,
        ),
        (
            "per-message JS CPU against engine-multi's fresh engine",
            med("javascript", "single", "cpu"),
            med("engine-multi", "single", "cpu"),
        ),
    )
    for title, mine, theirs_or_none in references:
        if mine is not None and theirs_or_none:
            ratio = mine / theirs_or_none
            print(f"  {title}: {ms(mine)} / {ms(theirs_or_none)} = {ratio:.3f}")
    return passed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7, help="per-message samples of each")
    parser.add_argument("--batch", type=int, default=100, help="runs of the batched task")
    parser.add_argument("--adaptor", default="@openfn/language-http@7.2.10")
    parser.add_argument(
        "--via",
        choices=("auto", "protocol", "engine"),
        default="auto",
        help="the task protocol (openfn_airflow.tasks) or the engine plus the store directly",
    )
    parser.add_argument("--task-child", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.task_child:
        return task_child(json.loads(args.task_child))
    import environment

    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    head = subprocess.run(
        ["git", "log", "-1", "--format=%h"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    print(
        f"openfn-airflow bench js_runtime: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC,"
        f" commit {head}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" Node {node.stdout.strip()}, PostgreSQL {environment.server_version()},"
        f" adaptor {args.adaptor}"
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "openfn_airflow"],
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout.splitlines()
    if dirty:
        print(f"measuring the working tree: {len(dirty)} uncommitted path(s) in openfn_airflow/")
    via = args.via if args.via != "auto" else ("protocol" if protocol_present() else "engine")
    missing = js_engine_missing()
    install_engine_multi()
    become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="openfn-bench-js-"))
    setup = None
    try:
        jobs = {"javascript": work / "trivial.js", "python": work / "trivial.py"}
        jobs["javascript"].write_text(JS_JOB)
        jobs["python"].write_text(PY_JOB)
        db_url = prepare_database()
        setup = Setup(db_url, adaptors_repository(args.adaptor, work), args.adaptor, jobs, via)
        setup.next_message = insert_messages(db_url, 3 * (args.samples + args.batch) + 10)
        print(
            f"database {environment.DATABASE}, adaptors (a copy) {setup.adaptors_path}, task via {via}"
        )
        if missing:
            print(f"our JavaScript engine: not available ({missing})")
        results = measure(setup, args.samples, args.batch, js=not missing)
        passed = report(results, args.batch)
    finally:
        if setup is not None:
            setup.spares.end()
        shutil.rmtree(work, ignore_errors=True)
    return 0 if passed else 1


def measure(setup: Setup, samples: int, batch: int, js: bool) -> dict[str, dict[str, list[Sample]]]:
    """Every figure: per-message rounds (each kind in turn), back-to-back JS tasks, batched."""
    contenders = {"python": lambda runs, hold: ours(setup, "python", runs, hold)}
    if js:
        contenders["javascript"] = lambda runs, hold: ours(setup, "javascript", runs, hold)
    contenders["engine-multi"] = lambda runs, hold: engine_multi(setup, runs, hold)
    results: dict[str, dict[str, list[Sample]]] = {
        who: {"single": [], "batched": []} for who in contenders
    }
    print(f"load average before: {load()}")
    for measure_one in contenders.values():
        measure_one(1, False)  # warm-up: disk caches, bytecode, the first spare
    for round_number in range(samples):
        for who, measure_one in contenders.items():
            results[who]["single"].append(measure_one(1, False))
        print(f"  per-message round {round_number + 1}/{samples} (load {load()})", flush=True)
    if js:
        # Tasks one right after the other: a spare has no time to get ready between them.
        results["javascript"]["back to back"] = [
            ours(setup, "javascript", 1, False, settle=False) for _ in range(samples)
        ]
        setup.spares.settle()
        print(f"  per-message back to back (load {load()})", flush=True)
    for who, measure_one in contenders.items():
        results[who]["batched"].append(measure_one(batch, True))
        print(f"  batched {who} (load {load()})", flush=True)
        if who == "javascript":
            setup.spares.settle()
    print(f"load average after: {load()}")
    return results


if __name__ == "__main__":
    sys.exit(main())
