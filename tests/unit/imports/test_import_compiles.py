"""Every imported job file compiles with the project's own OpenFn compiler."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import openfn_airflow.runtime

EXPORTS = Path(__file__).parents[2] / "fixtures" / "openfn_exports"
JS = Path(openfn_airflow.runtime.__file__).parent / "js"


def _node() -> str:
    found = shutil.which("node")
    if found is None or not (JS / "node_modules" / "recast").is_dir():
        reason = f"Node.js 20+ and the compiler's packages (npm ci --prefix {JS}) are needed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    return found


@pytest.mark.parametrize("export", ["v1", "lightning", "lightning_v2"])
def test_every_imported_job_compiles(import_export, export):
    result = import_export(EXPORTS / export)
    jobs = result.spec["jobs"]
    sources = [
        {"source": (result.out / job["file"]).read_text(), "name": job["file"]}
        for job in jobs.values()
    ]

    answer = subprocess.run(
        [_node(), str(JS / "compile-cli.mjs")],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    compiled = json.loads(answer.stdout)
    errors = {s["name"]: c["error"] for s, c in zip(sources, compiled, strict=True) if "error" in c}
    assert errors == {}
    assert all("export default [" in c["code"] for c in compiled)
