"""What every test needs: an Airflow home of its own, so no test reads or writes ~/airflow."""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

# Set before any test module imports airflow, which reads AIRFLOW_HOME once, at import.
_home = tempfile.mkdtemp(prefix="openfn-airflow-test-home-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _home
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# JavaScript jobs (the example project has one) find their adaptors in the repository every test
# shares (tests/adaptors.py), so no Airflow home of a test installs adaptors of its own.
from adaptors import adaptors_path  # noqa: E402 (after AIRFLOW_HOME: it imports the package)

os.environ.setdefault("AIRFLOW__OPENFN__ADAPTORS_PATH", str(adaptors_path()))

# `make test PYTEST_WORKERS="-n 2 --no-loadscope-reorder"` runs two pytest workers
# (pytest-xdist). Each has a database of its own (tests/integration/conftest.py) and runs one test
# at a time, so a scheduler started by one never sees the other's DAG runs. The modules that
# start Airflow's processes (marked scheduler, distributed or faults) form one group, run by one
# worker in collection order (which keeps the modules sharing a cluster next to each other);
# every other module is a group of its own, so its module fixtures are set up once. The longest
# groups are handed out first: the processes', then the browser modules.
#
# The groups are a scheduler of ours: pytest-xdist's own ``--dist loadgroup`` marks a test's
# group in ``item._nodeid``, which pytest 9.2 no longer reads. On 2 cores the two workers save
# only about 2 of 19 minutes (README): the clusters' tests take up to twice as long beside others.
ROOT = Path(__file__).resolve().parent.parent
PROCESSES_GROUP = "airflow-processes"
_PROCESS_MARK = re.compile(r"pytest\.mark\.(scheduler|distributed|faults)\b")


@functools.cache
def _starts_processes(path: str) -> bool:
    """Whether the test module at ``path`` (relative to the checkout) carries a process mark."""
    return bool(_PROCESS_MARK.search((ROOT / path).read_text(encoding="utf-8")))


def _group(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return PROCESSES_GROUP if _starts_processes(path) else path


def _rank(nodeid: str) -> int:
    group = _group(nodeid)
    if group == PROCESSES_GROUP:
        return 0
    return 1 if group.startswith("tests/integration/ui/") else 2


if importlib.util.find_spec("xdist") is not None:

    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
        from xdist.scheduler import LoadScopeScheduling

        class GroupScheduling(LoadScopeScheduling):
            """Whole groups (above) to a worker at a time, in collection order."""

            def _split_scope(self, nodeid: str) -> str:
                return _group(nodeid)

        return GroupScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a pytest-xdist worker, the longest groups first (``_rank``): with
    ``--no-loadscope-reorder`` the groups are handed out in collection order."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: _rank(item.nodeid))  # a stable sort
