"""Deploy a verified GitHub push event to the git DAG bundles that track its branch.

For each configured git bundle (``GitDagBundle`` or ``OpenFnGitDagBundle``) whose
``tracking_ref`` is the pushed branch: fetch its repository and check that the pushed commit
exists there and is the branch's tip or an ancestor of it; record it as the bundle's deployment
(``OpenFnGitDagBundle`` only: plain ``GitDagBundle`` always goes to the tip); and ask the
dag-processor to refresh the bundle now. The answer says what was done for every bundle.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from openfn_airflow.bundles.webhooks import PushEvent
from openfn_airflow.store.errors import DatabaseUnavailable

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """The HTTP answer to a push event: status code and JSON body."""

    status_code: int
    body: dict[str, Any] = field(default_factory=dict)


def _git_bundles(only: str | None) -> tuple[list[Any], Outcome | None]:
    """The configured git bundles (or only the one named), else the error to answer."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    git_bundle_class: type | None
    try:
        from airflow.providers.git.bundles.git import GitDagBundle

        git_bundle_class = GitDagBundle
    except ImportError:  # the git provider is not installed: no bundle can be a git one
        git_bundle_class = None

    manager = DagBundlesManager()
    if only is not None:
        try:
            candidates = [manager.get_bundle(only)]
        except ValueError:
            return [], Outcome(
                404, {"error": "unknown_bundle", "message": f"no DAG bundle named {only!r}"}
            )
    else:
        candidates = list(manager.get_all_dag_bundles())
    found = [b for b in candidates if git_bundle_class and isinstance(b, git_bundle_class)]
    if not found:
        what = f"DAG bundle {only!r} is not a git bundle" if only else "no git DAG bundle"
        return [], Outcome(
            404,
            {
                "error": "no_git_bundle",
                "message": f"{what} is configured ([dag_processor] dag_bundle_config_list)",
            },
        )
    return found, None


def deploy_push(push: PushEvent, *, delivery: str | None, only: str | None = None) -> Outcome:
    """Check, record and refresh; see the module docstring. ``only``: one bundle by name."""
    if push.branch is None:
        return Outcome(202, {"event": "push", "ref": push.ref, "ignored": "not a branch"})
    if push.removes_ref:
        return Outcome(202, {"event": "push", "ref": push.ref, "ignored": "the branch was deleted"})
    bundles, problem = _git_bundles(only)
    if problem is not None:
        return problem
    tracking = [b for b in bundles if b.tracking_ref in (push.branch, push.ref)]
    if not tracking:
        return Outcome(
            202,
            {
                "event": "push",
                "ref": push.ref,
                "ignored": "no git bundle tracks this branch",
                "tracked": sorted({str(b.tracking_ref) for b in bundles}),
            },
        )

    from openfn_airflow.bundles.git import check_pushed_commit

    accepted, refused, failed = [], [], []
    for bundle in tracking:
        try:
            check = check_pushed_commit(bundle, push.after)
        except Exception as exc:  # git, credentials, a repository that is gone
            log.warning("Could not fetch git bundle %s", bundle.name, exc_info=True)
            failed.append(
                {
                    "bundle": bundle.name,
                    "error": "fetch_failed",
                    "message": f"the repository could not be fetched: {type(exc).__name__}",
                }
            )
            continue
        if not check.found:
            refused.append(
                {
                    "bundle": bundle.name,
                    "error": "unknown_commit",
                    "message": f"commit {push.after} is not in the bundle's repository",
                }
            )
        elif not check.on_branch:
            refused.append(
                {
                    "bundle": bundle.name,
                    "error": "not_on_branch",
                    "message": f"commit {push.after} is not reachable from branch "
                    f"{check.branch!r} (tip {check.tip})",
                }
            )
        else:
            accepted.append((bundle, check))

    if not accepted:
        status_code = 502 if failed else 422
        return Outcome(
            status_code,
            {
                "error": "fetch_failed" if failed else "commit_refused",
                "event": "push",
                "ref": push.ref,
                "commit": push.after,
                "bundles": failed + refused,
            },
        )
    deployed = _record_and_refresh(accepted, push, delivery)
    return Outcome(
        202,
        {
            "event": "push",
            "ref": push.ref,
            "commit": push.after,
            "bundles": deployed,
            "skipped": failed + refused,
        },
    )


def _record_and_refresh(
    accepted: list[tuple[Any, Any]], push: PushEvent, delivery: str | None
) -> list[dict[str, Any]]:
    """One transaction: every accepted bundle's deployment and refresh request."""
    from airflow.utils.session import create_session
    from sqlalchemy.exc import OperationalError

    from openfn_airflow.airflow_db.bundles import request_refresh
    from openfn_airflow.bundles.deployments import Deployment, record_deployment
    from openfn_airflow.bundles.git import OpenFnGitDagBundle

    received_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    done: list[dict[str, Any]] = []
    try:
        with create_session() as session:
            for bundle, check in accepted:
                follows_events = isinstance(bundle, OpenFnGitDagBundle)
                if follows_events:
                    record_deployment(
                        Deployment(
                            bundle=bundle.name,
                            branch=check.branch,
                            commit=check.commit,
                            tip=check.tip,
                            delivery=delivery,
                            received_at=received_at,
                            pusher=push.pusher,
                        ),
                        session,
                    )
                files = request_refresh(session, bundle.name)
                item: dict[str, Any] = {
                    "bundle": bundle.name,
                    "branch": check.branch,
                    "tip": check.tip,
                    "deploys": check.commit if follows_events else check.tip,
                    "refresh_requested": True,
                    "reparse": files,
                }
                if not follows_events and check.commit != check.tip:
                    item["note"] = (
                        "a GitDagBundle always deploys its branch tip; configure "
                        "openfn_airflow.bundles.OpenFnGitDagBundle to deploy older commits"
                    )
                done.append(item)
    except OperationalError as exc:
        raise DatabaseUnavailable(f"could not record the deployment: {exc}") from exc
    for item in done:
        log.info(
            "GitHub push %s: bundle %s deploys %s (reparse %s)",
            delivery,
            item["bundle"],
            item["deploys"],
            item["reparse"],
        )
    return done
