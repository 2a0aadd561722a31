"""``OpenFnGitDagBundle``: Airflow's GitDagBundle, deploying the commit the last push event named.

Airflow's ``GitDagBundle.refresh()`` always moves the dag-processor's checkout to the tip of the
tracked branch. This subclass does the same, except when a verified push event (recorded by
the webhook, ``deployments.py``) named another commit of the branch and the branch has not
moved since: then it checks that commit out. Re-sending an older commit's push event therefore
redeploys it. Task runs are untouched: Airflow runs each task at its DAG run's
``bundle_version``, the commit the DAG was parsed at when the run was created.

``check_pushed_commit`` is what the webhook asks before it records a commit: it fetches the
bundle's repository (the provider's own bare clone, with its connection's credentials) and says
whether the commit exists there and is reachable from the tracked branch.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from dataclasses import dataclass

import structlog
from airflow.providers.common.compat.sdk import AirflowException
from airflow.providers.git.bundles.git import GitDagBundle
from git import Repo
from git.exc import GitCommandError

from openfn_airflow.bundles.deployments import Deployment, read_deployment

log = structlog.get_logger(__name__)


def _in_task_process() -> bool:
    """A task process has no metadata database: there the bundle behaves as GitDagBundle."""
    return hasattr(sys.modules.get("airflow.sdk.execution_time.task_runner"), "SUPERVISOR_COMMS")


def has_commit(repo: Repo, commit: str) -> bool:
    """Whether ``commit`` names a commit object present in ``repo``."""
    try:
        repo.git.cat_file("-e", f"{commit}^{{commit}}")
    except GitCommandError:
        return False
    return True


def reachable(repo: Repo, commit: str, tip: str) -> bool:
    """Whether ``commit`` is ``tip`` or one of its ancestors."""
    if commit == tip:
        return True
    try:
        repo.git.merge_base("--is-ancestor", commit, tip)
    except GitCommandError as exc:
        if exc.status == 1:  # "not an ancestor"; anything else is an error
            return False
        raise
    return True


class OpenFnGitDagBundle(GitDagBundle):
    """A git DAG bundle whose dag-processor checkout follows the last verified push event.

    Configure it like ``GitDagBundle`` (same kwargs: ``tracking_ref``, ``subdir``,
    ``git_conn_id``, ``repo_url``, ``refresh_interval``, ...). ``tracking_ref`` must be a branch
    for push events to apply to it.
    """

    def refresh(self) -> None:
        if self.version:
            raise AirflowException("Refreshing a specific version is not supported")
        deployment = None if _in_task_process() else read_deployment(self.name)
        with self.lock():
            cm = self.hook.configure_hook_env() if self.hook else nullcontext()
            with cm:
                self._fetch_bare_repo()
                self.repo.remotes.origin.fetch(
                    ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]
                )
                target = self._branch_target()
                self.repo.head.reset(
                    self._deployed_commit(deployment, target) or target,
                    index=True,
                    working_tree=True,
                )
                if self.submodules:
                    try:
                        self._fetch_submodules()
                    except GitCommandError as e:
                        raise RuntimeError("Error pulling submodule from repository") from e
                self.repo.close()

    def _branch_target(self) -> str:
        """What GitDagBundle checks out: the fetched branch, else the ref as given (tag, sha)."""
        remote_branch = f"origin/{self.tracking_ref}"
        if remote_branch in [ref.name for ref in self.repo.remotes.origin.refs]:
            return remote_branch
        return self.tracking_ref

    def _deployed_commit(self, deployment: Deployment | None, target: str) -> str | None:
        """The recorded commit to check out instead of the branch tip, if it still applies."""
        if deployment is None or deployment.branch != self.tracking_ref or deployment.is_tip:
            return None
        tip = self.repo.commit(target).hexsha
        if tip != deployment.tip:
            log.info(
                "Branch moved since the push event that named an older commit: following it",
                bundle_name=self.name,
                commit=deployment.commit,
                tip=tip,
            )
            return None
        if not (
            has_commit(self.repo, deployment.commit)
            and reachable(self.repo, deployment.commit, tip)
        ):
            log.warning(
                "The recorded commit is not on the branch any more: following the branch",
                bundle_name=self.name,
                commit=deployment.commit,
                tip=tip,
            )
            return None
        log.info(
            "Checking out the commit the last push event named",
            bundle_name=self.name,
            commit=deployment.commit,
            tip=tip,
        )
        return deployment.commit


@dataclass(frozen=True)
class PushCheck:
    """What the bundle's repository says of a pushed commit, after a fetch."""

    bundle: str
    branch: str
    commit: str
    tip: str | None  # the branch's tip now; None when the repository has no such branch
    found: bool  # the commit exists in the repository
    on_branch: bool  # ... and is the tip or one of its ancestors


def check_pushed_commit(bundle: GitDagBundle, commit: str) -> PushCheck:
    """Fetch ``bundle``'s repository into its bare clone and check ``commit`` against its branch.

    Raises ``GitCommandError`` (or ``AirflowException`` with no repository URL) when the
    repository cannot be fetched.
    """
    branch = bundle.tracking_ref
    with bundle.lock():
        cm = bundle.hook.configure_hook_env() if bundle.hook else nullcontext()
        with cm:
            bundle._clone_bare_repo_if_required()  # clones once, then fetches every branch
        repo = bundle.bare_repo
        try:
            tip_ref = f"refs/heads/{branch}"
            tip = repo.commit(tip_ref).hexsha if has_commit(repo, tip_ref) else None
            found = has_commit(repo, commit)
            on_branch = found and tip is not None and reachable(repo, commit, tip)
        finally:
            repo.close()
    return PushCheck(
        bundle=bundle.name,
        branch=branch,
        commit=commit,
        tip=tip,
        found=found,
        on_branch=on_branch,
    )
