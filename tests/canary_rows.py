"""A canary round trip written as the real components write it, step by step, for tests.

The inbox stores the message (``ingest.receive``), the dispatcher marks its delivery
dispatched (its own ``mark_dispatched`` statement), the scheduler queues a DAG run (a
``dag_run`` row as Airflow leaves it), and the job task records the run in the ledger
(``runs.start_run`` / ``finish_run``). Every step runs in its own transaction, as in the real
pipeline, so each has its own ``now()``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import psycopg

from openfn_airflow import canary
from openfn_airflow.canary.sending import canary_body
from openfn_airflow.dags.factory import dag_id_for
from openfn_airflow.inbox import ingest
from openfn_airflow.inbox.registry import sync_projects
from openfn_airflow.store import runs
from openfn_airflow.store.projects import get_project
from openfn_airflow.store.queries import execute

STEP_SECONDS = 0.02  # between two steps, so that each stage lasts a few ms


class CanaryRows:
    """Round trips of the canary project on an autocommit connection (dict rows)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        assert conn.autocommit
        self.conn = conn
        self.dag_run_ids: list[str] = []
        sync_projects(conn, [canary.project_folder()], prune=False)
        project = get_project(conn, canary.PROJECT)
        assert project is not None
        self.inbox_id = project["inbox_id"]

    def receive(self, body: dict | None = None) -> int:
        """POST a canary message to the inbox (as the send job does); its id."""
        receipt = ingest.receive(
            self.conn,
            inbox_id=self.inbox_id,
            method="POST",
            path=f"/openfn/inbox/{self.inbox_id}",
            query={},
            headers={"content-type": "application/json"},
            raw=json.dumps(body or canary_body()).encode(),
        )
        assert receipt.status_code == 202, receipt.body
        assert receipt.body["matched"] == [canary.TRIGGER]
        return receipt.body["message_id"]

    def dispatch(self, message_id: int) -> None:
        time.sleep(STEP_SECONDS)
        ids = [
            row["id"]
            for row in self.conn.execute(
                "SELECT id FROM openfn_dispatch WHERE message_id = %s", [message_id]
            ).fetchall()
        ]
        assert ids
        execute(self.conn, "mark_dispatched", ids=ids)

    def queue_dag_run(self) -> str:
        """A DAG run of the receive job, queued now, as the scheduler makes it."""
        time.sleep(STEP_SECONDS)
        run_id = f"asset_triggered__canary_test_{uuid.uuid4().hex}"
        self.conn.execute(
            "INSERT INTO dag_run (dag_id, run_id, run_type, run_after, state, queued_at, "
            "start_date) VALUES (%s, %s, 'asset_triggered', now(), 'running', now(), now())",
            [dag_id_for(canary.PROJECT, canary.RECEIVE_JOB), run_id],
        )
        self.dag_run_ids.append(run_id)
        return run_id

    def run(
        self,
        job: str,
        *,
        message_id: int | None = None,
        dag_run_id: str | None = None,
        trigger: str = "message",
        status: str = "success",
    ) -> int:
        """A ledger run of a canary job, started now and finished a moment later."""
        time.sleep(STEP_SECONDS)
        run_id = runs.start_run(
            self.conn,
            project=canary.PROJECT,
            job=job,
            trigger=trigger,
            initial_state={"data": {}, "references": []},
            message_id=message_id,
            dag_id=dag_id_for(canary.PROJECT, job),
            dag_run_id=dag_run_id,
            task_id="run",
            try_number=1,
        )
        time.sleep(STEP_SECONDS)
        runs.finish_run(
            self.conn,
            run_id,
            status=status,
            exit_code=0 if status == "success" else 1,
            log="" if status == "success" else "RuntimeError: the inbox answered 404",
            final_state={"data": {}},
        )
        return run_id

    def round_trip(self) -> tuple[int, int]:
        """One whole round trip: the send job's run, then its message all the way through;
        (message id, receive run id)."""
        self.run(canary.SEND_JOB, trigger="cron")
        message_id = self.receive()
        self.dispatch(message_id)
        dag_run_id = self.queue_dag_run()
        return message_id, self.run(
            canary.RECEIVE_JOB, message_id=message_id, dag_run_id=dag_run_id
        )

    def remove(self) -> None:
        """Delete the DAG runs made here (the openfn_* rows go with the test's clean-up)."""
        if self.dag_run_ids:
            self.conn.execute("DELETE FROM dag_run WHERE run_id = ANY(%s)", [self.dag_run_ids])
