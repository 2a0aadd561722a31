"""The spec package stays pure Python: other tools read specs without Airflow."""

from __future__ import annotations

import subprocess
import sys


def test_importing_and_loading_never_imports_airflow(tmp_path):
    (tmp_path / "project.yaml").write_text("project: demo\ntriggers: {t: {cron: '@daily'}}\n")
    code = (
        "import sys, openfn_airflow.spec as spec; "
        f"spec.load_project({str(tmp_path)!r}); "
        "sys.exit('airflow' in sys.modules)"
    )

    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
