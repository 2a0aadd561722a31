"""Turn dispatch rows (the outbox) into asset events, exactly once, in every api-server process.

A daemon thread LISTENs on ``openfn_dispatch`` (the inbox NOTIFYs when it commits a message
that matched) and polls every ``[openfn] dispatch_poll_interval`` seconds besides. Woken by a
NOTIFY, it waits ``[openfn] dispatch_coalesce`` seconds (50 ms) so that a burst shares one batch:
dispatching each message alone cost more CPU in the api-server process than receiving it, and
slowed the inbox's own answers (measured with py-spy, 1 client). Each batch is
ONE Airflow ORM transaction: claim due rows ``FOR UPDATE SKIP LOCKED``, register the events
(``schedule_messages``) and mark the rows dispatched, then commit. A crash before the commit
leaves the rows pending for the next dispatcher; several api-servers never take the same row.
A trigger whose asset Airflow does not know yet (its DAG is not parsed) leaves its rows pending,
retried with an exponential delay. An ``auto`` job gets one event per message while few of its
DAG runs wait to start, and its messages join its queue past that (``dags/assets.py``); every
second the thread makes sure a queue that waits has a DAG run to take it. It also syncs the
registry every 10 s and fills in search vectors the inbox left out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

from openfn_airflow.bundles.folders import spec_folders
from openfn_airflow.inbox import registry, settings
from openfn_airflow.inbox.pools import PoolSync
from openfn_airflow.spec.models import ASSET_SCHEME
from openfn_airflow.store import dispatch
from openfn_airflow.store.database import connect, wrap_exceptions
from openfn_airflow.store.queries import fetch_all, query

log = logging.getLogger(__name__)

CHANNEL = "openfn_dispatch"
REGISTRY_SYNC_SECONDS = 10.0
MAX_RETRY_DELAY_SECONDS = 300
INDEX_BATCH = 1000
# How often a thread waiting for a NOTIFY looks whether it is asked to stop.
STOP_CHECK_SECONDS = 0.5
# An auto job's pending runs this old with no DAG run to take them get one (``wake_queue``):
# left when a DAG run took its ``auto_batch_max`` and no message came after, or when the DAG
# run counted on was lost. Looked for every second.
STALLED_QUEUE_SECONDS = 3.0
STALLED_QUEUE_CHECK_SECONDS = 1.0


def trigger_asset_uri(project: str, trigger: str) -> str:
    """The asset a message-filter trigger's jobs listen to (``Project.trigger_asset_uri``)."""
    return f"{ASSET_SCHEME}://{project}/triggers/{trigger}"


class Dispatcher:
    """The outbox worker of one process: ``start()`` a daemon thread, ``stop()`` it.

    Also a context manager (``with start_dispatcher(): ...`` stops it on exit).
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        batch_size: int | None = None,
        poll_interval: float | None = None,
        coalesce: float | None = None,
        dags_folder: str | Path | None = None,
        sync_registry: bool = True,
    ) -> None:
        self.url = url  # None: database_url(), read when the thread connects
        self.batch_size = batch_size or settings.dispatch_batch_size()
        self.poll_interval = poll_interval or settings.dispatch_poll_interval()
        self.coalesce = settings.dispatch_coalesce() if coalesce is None else coalesce
        self.dags_folder = dags_folder
        self.sync_registry = sync_registry
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_sync = 0.0
        self._next_wake = 0.0
        self._pools = PoolSync()

    def start(self) -> Dispatcher:
        """Start the thread (once); return self."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="openfn-dispatcher", daemon=True)
            self._thread.start()
        return self

    def __enter__(self) -> Dispatcher:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread, letting a batch in progress commit (or roll back) first."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def dispatch_batch(self) -> int:
        """Dispatch up to ``batch_size`` due rows in one transaction; return how many were claimed."""
        from airflow.utils.session import create_session

        from openfn_airflow.dags.assets import UnknownAsset, schedule_messages

        with create_session() as session:
            connection = session.connection()
            rows = (
                connection.exec_driver_sql(query("claim_dispatches"), {"limit": self.batch_size})
                .mappings()
                .all()
            )
            groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
            for row in rows:
                groups[(row["project"], row["trigger"])].append(row)
            done: list[int] = []
            # In one order in every dispatcher: an auto job's queue lock is taken trigger by
            # trigger, and two dispatchers must not each hold the lock the other waits for.
            for (project, trigger), claimed in sorted(groups.items()):
                ids = [row["id"] for row in claimed]
                uri = trigger_asset_uri(project, trigger)
                # The registry's jobs on the trigger: not a DAG of an archived or removed job
                # that Airflow has not marked stale yet.
                jobs = {
                    job["name"]: job["runs"]
                    for job in connection.exec_driver_sql(
                        query("list_trigger_jobs"), {"project": project, "trigger": trigger}
                    ).mappings()
                }
                try:
                    with session.begin_nested():
                        schedule_messages(
                            session, project, uri, [row["message_id"] for row in claimed], jobs
                        )
                except UnknownAsset as exc:
                    self._defer(connection, ids, f"{exc} (its DAG may not be parsed yet)")
                    continue
                except Exception as exc:
                    log.exception("Dispatching %d message(s) to %s failed", len(ids), uri)
                    self._defer(connection, ids, f"{type(exc).__name__}: {exc}")
                    continue
                done.extend(ids)
            if done:
                connection.exec_driver_sql(query("mark_dispatched"), {"ids": done})
        return len(rows)

    def dispatch_pending(self) -> int:
        """Dispatch batches until no due row is left; return how many rows were claimed."""
        total = 0
        while not self._stopping.is_set():
            claimed = self.dispatch_batch()
            total += claimed
            if claimed < self.batch_size:
                break
        return total

    def housekeep(self, conn: psycopg.Connection[Any]) -> None:
        """Sync the registry and wake stalled auto queues when due, and fill in missing search
        vectors (autocommit ``conn``)."""
        if self.sync_registry and time.monotonic() >= self._next_sync:
            listing = spec_folders(self.dags_folder or settings.dags_folder())
            try:
                registry.sync_projects(conn, listing.folders, prune=listing.complete)
                self._sync_pools(listing.folders)
            finally:
                self._next_sync = time.monotonic() + REGISTRY_SYNC_SECONDS
        if time.monotonic() >= self._next_wake:
            self._wake_stalled_queues(conn)
            self._next_wake = time.monotonic() + STALLED_QUEUE_CHECK_SECONDS
        while dispatch.index_messages(conn, INDEX_BATCH) == INDEX_BATCH:
            if self._stopping.is_set():
                break

    def wake_stalled_queues(self, conn: psycopg.Connection[Any]) -> int:
        """Start a DAG run for each auto job whose queue waits with none to take it; how many.

        ``conn``: an autocommit connection to look with (Airflow's session only when one waits).
        """
        from airflow.utils.session import create_session

        from openfn_airflow.dags.assets import UnknownAsset, wake_queue

        stalled = fetch_all(conn, "list_stalled_queues", older_than=STALLED_QUEUE_SECONDS)
        if not stalled:
            return 0
        woken = 0
        with create_session() as session:
            for row in stalled:
                uri = trigger_asset_uri(row["project"], row["trigger"])
                try:
                    with session.begin_nested():
                        woken += wake_queue(session, row["project"], uri, row["job"])
                except UnknownAsset:
                    continue
        if woken:
            log.warning("Started %d DAG run(s) for auto job queues no DAG run was to take", woken)
        return woken

    def _wake_stalled_queues(self, conn: psycopg.Connection[Any]) -> None:
        try:
            self.wake_stalled_queues(conn)
        except Exception:
            log.exception("Could not look for auto job queues left behind; trying again later")

    def _sync_pools(self, folders: Sequence[Path]) -> None:
        # Pools live in Airflow's tables: a failure there must not stop the inbox's delivery.
        try:
            self._pools.sync(folders)
        except Exception:
            log.exception("Could not create or resize the projects' pools; trying again later")

    def _defer(self, connection: Any, ids: list[int], error: str) -> None:
        connection.exec_driver_sql(
            query("defer_dispatches"),
            {"ids": ids, "error": error[:2000], "max_delay": MAX_RETRY_DELAY_SECONDS},
        )

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                with connect(self.url) as conn:
                    conn.autocommit = True
                    with wrap_exceptions():
                        conn.execute(f"LISTEN {CHANNEL}")
                    failures = 0
                    self._loop(conn)
            except Exception:
                failures += 1
                delay = min(30.0, 2.0**failures)
                log.exception("OpenFn dispatcher failed; retrying in %.0f s", delay)
                self._stopping.wait(delay)

    def _wait_for_notify(self, conn: psycopg.Connection[Any]) -> bool:
        """Wait up to the poll interval for a NOTIFY; whether one came.

        In slices, so that ``stop()`` ends the wait: one wait of the whole interval outlasted
        ``stop()``'s join with a long interval, and the thread went on running after it.
        """
        deadline = time.monotonic() + self.poll_interval
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for _ in conn.notifies(timeout=min(left, STOP_CHECK_SECONDS), stop_after=1):
                return True
        return False

    def _loop(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stopping.is_set():
            self.housekeep(conn)
            self.dispatch_pending()
            with wrap_exceptions():
                # Woken by the inbox's NOTIFY at once, or after the poll interval (rows deferred
                # for later, a NOTIFY lost while reconnecting).
                woken = self._wait_for_notify(conn)
                if woken and self.coalesce > 0:
                    self._stopping.wait(self.coalesce)
                    # The NOTIFYs of the burst: the batch about to run covers their rows.
                    for _ in conn.notifies(timeout=0):
                        pass


def start_dispatcher() -> Dispatcher:
    """Start this process's dispatcher (the plugin app's lifespan calls it; ``stop()`` after)."""
    return Dispatcher().start()
