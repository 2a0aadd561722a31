"""The distributed topology on one machine, for tests and ``bench/scale.py``.

``CeleryCluster`` runs what docker-compose.yaml runs, without containers: CeleryExecutor with the
local Redis as broker and result backend, several Celery workers, several api-servers on their
own ports (each with its inbox and its dispatcher), one scheduler and one dag-processor, against
one PostgreSQL database. Each worker's tasks talk to the execution API of "their" api-server, as
workers behind a load balancer would reach any of them.

Every cluster uses a queue of its own (``[operators] default_queue``), so clusters of parallel
test runs never take each other's tasks from the shared Redis.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time

import httpx
from cluster import VENV_BIN, Cluster, free_port

REDIS_URL = os.environ.get("OPENFN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_available(url: str = REDIS_URL) -> bool:
    """Whether the Redis server answers PING."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


class CeleryCluster(Cluster):
    """``api_servers`` api-servers, ``workers`` Celery workers, a scheduler, a dag-processor."""

    def __init__(
        self,
        home,
        sqlalchemy_url: str,
        dags_folder,
        *,
        api_servers: int = 2,
        workers: int = 2,
        concurrency: int = 4,
        **overrides: str,
    ):
        self.queue = f"openfn-test-{secrets.token_hex(4)}"
        super().__init__(
            home,
            sqlalchemy_url,
            dags_folder,
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CELERY__BROKER_URL=REDIS_URL,
            AIRFLOW__CELERY__RESULT_BACKEND=REDIS_URL,
            AIRFLOW__CELERY__WORKER_CONCURRENCY=str(concurrency),
            AIRFLOW__OPERATORS__DEFAULT_QUEUE=self.queue,
            # A task a dead worker had taken but not finished goes back to the queue after this.
            AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT="30",
            # A task whose worker died stops heartbeating: failed (and reported) after this.
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="30",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="5",
            AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT="120",
            **overrides,
        )
        self.ports = [self.port] + [free_port() for _ in range(api_servers - 1)]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.workers = [f"worker-{n + 1}" for n in range(workers)]
        self.concurrency = concurrency

    def api_server_name(self, n: int) -> str:
        return "api-server" if n == 0 else f"api-server-{n + 1}"

    def _spawn_env(self, name: str, args: list[str], **env: str) -> None:
        out = open(self.home / "logs" / f"{name}.out", "ab")  # noqa: SIM115 (owned by the child)
        self.processes[name] = subprocess.Popen(
            [str(VENV_BIN / "airflow"), *args],
            env={**self.env, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_worker(self, n: int) -> None:
        """Start worker ``n`` (0-based); its tasks use api-server ``n`` modulo their number."""
        name = self.workers[n]
        url = self.urls[n % len(self.urls)]
        self._spawn_env(
            name,
            [
                "celery",
                "worker",
                "--queues",
                self.queue,
                "--concurrency",
                str(self.concurrency),
                "--celery-hostname",
                f"{name}@%h",
                "--pid",
                str(self.home / f"{name}.pid"),
                "--skip-serve-logs",
                "--without-mingle",
                "--without-gossip",
            ],
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{url}/execution/",
        )

    def start(self, timeout: float = 180) -> CeleryCluster:
        try:
            for n, port in enumerate(self.ports):
                self._spawn_env(
                    self.api_server_name(n),
                    ["api-server", "--port", str(port)],
                    AIRFLOW__API__PORT=str(port),
                    AIRFLOW__API__BASE_URL=self.urls[n],
                )
            self._spawn("dag-processor", "dag-processor")
            self._spawn("scheduler", "scheduler")
            for n in range(len(self.workers)):
                self.start_worker(n)
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for url in self.urls:
            while True:
                self.check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                        httpx.get(f"{url}/execution/health", timeout=60)
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} not healthy after {timeout}s; see {self.home}/logs")
                time.sleep(0.5)

    def kill(self, name: str) -> None:
        """SIGKILL a component and everything it started (a machine lost, not a shutdown)."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def worker_log(self, name: str) -> str:
        return (self.home / "logs" / f"{name}.out").read_text(errors="replace")
