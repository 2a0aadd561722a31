"""A project's history as the screens show it: messages, runs of each status, a long log."""

from __future__ import annotations

from typing import Any

from factories import make_message, make_run
from odk import PHOTO, PHOTO_NAME, SIGNATURE, SIGNATURE_NAME

from openfn_airflow.inbox.multipart import Attachment
from openfn_airflow.store import attachments

LONG_LOG = (
    "\n".join(
        f"2024-05-31T12:00:{i % 60:02d}Z step {i}: posted patient {i} to https://dhis2.example.org/api/"
        "trackedEntityInstances?program=IpHINAT79UW&orgUnit=DiszpKrYNg8 status=200 " + "x" * 80
        for i in range(1, 400)
    )
    + "\nERROR: DHIS2 answered 409 Conflict for patient 400"
)


def seed(conn: Any) -> dict[str, int]:
    """Insert what the screens are tested on; return the ids that matter by name."""
    ids: dict[str, int] = {}
    for n in range(1, 31):
        make_message(conn, project="core", body={"form": "intake", "n": n, "name": f"Person {n}"})
    big = {
        "form": "intake",
        "name": "Ada Lovelace",
        "patient": {
            "address": {"line": ["12 Analytical Engine Street, Marylebone"] * 3, "city": "London"},
            "notes": "a very long note " * 60,
            "visits": [{"date": f"2024-05-{d:02d}", "weight": 60 + d / 10} for d in range(1, 25)],
        },
    }
    ids["ada"] = make_message(conn, project="core", body=big)["id"]
    # Files as an ODK submission brings them: a photo, a signature, and one served as a download.
    attachments.add_attachments(
        conn,
        ids["ada"],
        [
            Attachment(PHOTO_NAME, PHOTO_NAME, "image/jpeg", PHOTO),
            Attachment(SIGNATURE_NAME, SIGNATURE_NAME, "image/png", SIGNATURE),
            Attachment("referral letter.pdf", "referral", "application/pdf", b"%PDF-1.4 " * 300),
        ],
    )
    ids["other"] = make_message(conn, project="core", body={"kind": "other", "name": "Grace"})["id"]
    ids["ok_run"] = make_run(
        conn,
        project="core",
        job="intake",
        trigger="message",
        message_id=ids["ada"],
        status="success",
        log="posted\nall good",
        final_state={"data": big, "references": []},
        initial_state={"data": big, "references": []},
    )["id"]
    ids["failed_run"] = make_run(
        conn,
        project="core",
        job="intake",
        trigger="message",
        message_id=ids["ada"],
        status="failed",
        exit_code=1,
        log=LONG_LOG,
        dag_id="openfn__core__intake",
        dag_run_id="asset_triggered__2024-05-31T12:00:00+00:00",
        task_id="run",
        initial_state={"data": big, "references": []},
        final_state=None,
        ran_with="Node v20.20.2, @openfn/runtime 1.9.5, @openfn/language-http@7.2.10",
    )["id"]
    ids["cron_run"] = make_run(
        conn,
        project="core",
        job="counter",
        trigger="cron",
        status="success",
        log="counted 3",
        initial_state={},
        final_state={"count": 3},
    )["id"]
    conn.commit()
    return ids
