"""Which commit a git bundle deploys: the one the last verified push event named.

Stored as an Airflow Variable per bundle (``openfn_git_deploy.<bundle>``, JSON), written by the
webhook in the api-server and read by the dag-processor when it refreshes the bundle. The
Variable is visible under Admin -> Variables; deleting it makes the bundle follow its branch
tip again. Read straight from the metadata database, never through Airflow's secrets cache,
which would hand the dag-processor a stale commit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from openfn_airflow.bundles.webhooks import is_commit

log = logging.getLogger(__name__)

VARIABLE_PREFIX = "openfn_git_deploy."


def variable_key(bundle_name: str) -> str:
    return f"{VARIABLE_PREFIX}{bundle_name}"


@dataclass(frozen=True)
class Deployment:
    """A verified push event's commit, and the branch tip when it was verified.

    The bundle checks ``commit`` out while its branch is still at ``tip``; once the branch has
    moved on (a newer push, whose webhook may have been lost), it follows the branch again.
    """

    bundle: str
    branch: str
    commit: str
    tip: str
    delivery: str | None = None
    received_at: str | None = None
    pusher: str | None = None

    @property
    def is_tip(self) -> bool:
        return self.commit == self.tip

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if key != "bundle"}

    @classmethod
    def from_json(cls, bundle: str, data: Any) -> Deployment | None:
        if not isinstance(data, dict):
            return None
        branch, commit, tip = data.get("branch"), data.get("commit"), data.get("tip")
        if not (isinstance(branch, str) and is_commit(commit) and is_commit(tip)):
            return None
        return cls(
            bundle=bundle,
            branch=branch,
            commit=commit,
            tip=tip,
            delivery=_text(data.get("delivery")),
            received_at=_text(data.get("received_at")),
            pusher=_text(data.get("pusher")),
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_deployment(bundle_name: str, session: Any = None) -> Deployment | None:
    """The bundle's recorded deployment, or None (none recorded, or not readable)."""
    from openfn_airflow.airflow_db.variables import read_variable

    key = variable_key(bundle_name)
    stored = read_variable(key, session)
    if stored is None:
        return None
    raw, encrypted = stored
    try:
        deployment = Deployment.from_json(bundle_name, json.loads(raw or ""))
    except ValueError:
        deployment = None
    if deployment is None:
        log.warning(
            "Variable %s does not describe a deployment; ignored%s",
            key,
            " (it is encrypted: does this process have the api-server's [core] fernet_key?)"
            if encrypted
            else "",
        )
    return deployment


def record_deployment(deployment: Deployment, session: Any) -> None:
    """Store the deployment (the caller's session commits it)."""
    from airflow.models.variable import Variable

    Variable.set(
        variable_key(deployment.bundle),
        deployment.as_json(),
        description=(
            f"Commit of git DAG bundle {deployment.bundle!r} deployed by the last verified "
            "GitHub push event (openfn-airflow). Delete it to follow the branch tip."
        ),
        serialize_json=True,
        session=session,
    )
