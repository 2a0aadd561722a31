"""Projects kept in git: a git DAG bundle that can be told which commit to deploy.

``OpenFnGitDagBundle`` (configured in ``[dag_processor] dag_bundle_config_list``) is Airflow's
``GitDagBundle`` plus one thing: the commit named by the last verified GitHub push event
(``POST /openfn/github/webhook``) is the one it checks out, so re-sending an older push event
redeploys that commit. ``webhooks`` checks GitHub's signature and reads push events,
``pushes`` deploys a push to the bundles tracking its branch, ``deployments`` stores the commit
(an Airflow Variable per bundle; ``airflow_db.bundles`` asks the dag-processor to refresh a
bundle now),
``folders`` lists where project specs are (the inbox and the Jobs screen read git bundles' too).

The bundle class is imported lazily: the git provider is only needed where it is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openfn_airflow.bundles.git import OpenFnGitDagBundle

__all__ = ["OpenFnGitDagBundle"]


def __getattr__(name: str) -> Any:
    if name == "OpenFnGitDagBundle":
        from openfn_airflow.bundles.git import OpenFnGitDagBundle

        return OpenFnGitDagBundle
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
