"""What every test needs: an Airflow home of its own, so no test reads or writes ~/airflow."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Set before any test module imports airflow, which reads AIRFLOW_HOME once, at import.
_home = tempfile.mkdtemp(prefix="openfn-airflow-test-home-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _home
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# JavaScript jobs (the example project has one) find their adaptors in the repository every test
# shares (tests/adaptors.py), so no Airflow home of a test installs adaptors of its own.
from adaptors import adaptors_path  # noqa: E402 (after AIRFLOW_HOME: it imports the package)

os.environ.setdefault("AIRFLOW__OPENFN__ADAPTORS_PATH", str(adaptors_path()))
