"""(a) In-process cost of ``run_job`` per run, against calling the same work directly.

Each pair is timed interleaved (ours, baseline, ours, baseline, ...) and the best repetition of
each kept, so a burst of noise on this shared machine hits both sides alike.
"""

from __future__ import annotations

import contextlib
import logging
import runpy
import subprocess
import sys
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from openfn_airflow.runtime import fn, run_job
from openfn_airflow.runtime.adaptors.http import get

JOB_FILE = Path(__file__).resolve().parent / "project" / "jobs" / "mark.py"
TARGET_OVERHEAD_US = 1000.0
REPEAT = 7
# What the operator passes when the spec sets no timeout ([openfn] job_timeout).
OPERATOR_TIMEOUT = 300.0


@dataclass
class Timing:
    """One measure: microseconds per run through run_job and for the direct call."""

    name: str
    ours_us: float
    baseline_us: float

    @property
    def overhead_us(self) -> float:
        return self.ours_us - self.baseline_us

    @property
    def met(self) -> bool:
        return self.overhead_us < TARGET_OVERHEAD_US


def best_pair_us(
    ours: Callable[[], Any], baseline: Callable[[], Any], number: int
) -> tuple[float, float]:
    """Best of REPEAT runs of ``number`` calls each, per call in µs, for both callables."""
    ours(), baseline()  # warm caches (compiled job file, HTTP connection pool)
    best_ours = best_base = float("inf")
    for _ in range(REPEAT):
        best_ours = min(best_ours, timeit.timeit(ours, number=number))
        best_base = min(best_base, timeit.timeit(baseline, number=number))
    return best_ours / number * 1e6, best_base / number * 1e6


def message_state() -> dict[str, Any]:
    """An initial state shaped like a message-triggered run's."""
    return {
        "data": {"bench": "per-message", "n": 1},
        "request": {"headers": {"content-type": "application/json"}, "method": "POST"},
        "references": [],
    }


def _checked(result: Any) -> None:
    if result.exit_code != 0:
        raise RuntimeError(f"the bench job failed: {result.log}")


def _quiet_echo() -> Callable[[str], None]:
    # The operator echoes each log line to its task logger; a logger that drops them stands in.
    logger = logging.getLogger("bench.echo")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger.info


def trivial_timings() -> list[Timing]:
    """The trivial job (one fn adding a key) as a list, as a file, and as the operator runs it."""
    mark = runpy.run_path(str(JOB_FILE))["mark"]
    operations = [fn(mark)]
    state = message_state()
    echo = _quiet_echo()

    def direct() -> None:
        mark(dict(state))

    def as_list() -> None:
        _checked(run_job(operations, state))

    def as_file() -> None:
        _checked(run_job(JOB_FILE, state))

    def as_operator() -> None:
        _checked(run_job(str(JOB_FILE), state, timeout=OPERATOR_TIMEOUT, echo=echo))

    return [
        Timing("trivial job, operations list", *best_pair_us(as_list, direct, 2000)),
        Timing("trivial job, job file", *best_pair_us(as_file, direct, 2000)),
        Timing(
            "trivial job, job file + timeout + echo (operator)",
            *best_pair_us(as_operator, direct, 2000),
        ),
    ]


# The API runs in its own process: in this one its threads would fight the client for the GIL
# and add whole switch intervals (5 ms) to some requests.
_SERVER = """
import sys
from openfn_airflow.fake_api import FakeApi
api = FakeApi()
if sys.argv[1] == "keep-alive":
    # FakeApi speaks HTTP/1.0 (a connection per request). Keep-alive also needs TCP_NODELAY:
    # headers and body go out in two writes, which otherwise wait 40 ms for delayed ACKs.
    api.RequestHandlerClass = type(
        "KeepAlive",
        (api.RequestHandlerClass,),
        {"protocol_version": "HTTP/1.1", "disable_nagle_algorithm": True},
    )
print(api.url, flush=True)
api.serve_forever()
"""


@contextlib.contextmanager
def fake_api(mode: str) -> Iterator[str]:
    """Start a FakeApi process on 127.0.0.1 (``keep-alive`` or ``new connection``); yield its URL."""
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, mode], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not url:
            raise RuntimeError(f"the FakeApi process exited with {server.wait()}")
        yield url
    finally:
        server.terminate()
        server.wait(10)


def http_timing(base_url: str, label: str) -> Timing:
    """An http.get job against the FakeApi, against httpx with one shared client."""
    url = f"{base_url}/cases?since=2026-01-09T00:00:00Z"
    operations = [get(url)]
    state = message_state()
    with httpx.Client() as client:

        def direct() -> None:
            response = client.get(url)
            response.raise_for_status()
            {**state, "data": response.json()}

        def ours() -> None:
            _checked(run_job(operations, state))

        return Timing(f"http job, get() on 127.0.0.1, {label}", *best_pair_us(ours, direct, 200))


def http_timings() -> list[Timing]:
    timings = []
    for mode in ("keep-alive", "new connection"):
        with fake_api(mode) as base_url:
            timings.append(http_timing(base_url, mode))
    return timings


def measure() -> list[Timing]:
    return [*trivial_timings(), *http_timings()]


def report(timings: list[Timing]) -> None:
    print(f"\n(a) run_job overhead per run (best of {REPEAT}, interleaved)")
    print(f"  {'measure':52} {'run_job':>10} {'direct':>10} {'overhead':>10}  target <1 ms")
    for t in timings:
        print(
            f"  {t.name:52} {t.ours_us:8.1f}µs {t.baseline_us:8.1f}µs "
            f"{t.overhead_us:8.1f}µs  {'met' if t.met else 'MISSED'}"
        )
