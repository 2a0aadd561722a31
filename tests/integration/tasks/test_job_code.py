"""What the operator hands the job task: the job's adaptors and the adaptors repository."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from openfn_airflow.runtime.engines import JobCode

pytestmark = pytest.mark.integration

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
HTTP = "@openfn/language-http@7.2.10"


def _js_job_dag(tmp_path: Path):
    """The DAG of a JavaScript job pinned to language-http (the core project's intake, as .js)."""
    from openfn_airflow.dags.factory import build_job_dag
    from openfn_airflow.spec import load_project

    project = load_project(PROJECTS / "core" / "project.yaml")
    source = tmp_path / "intake.js"
    source.write_text("fn(state => state);\n")
    job = dataclasses.replace(project.jobs["intake"], file=source, adaptors=(HTTP,))
    project = dataclasses.replace(project, root=tmp_path, jobs={**project.jobs, "intake": job})
    return build_job_dag(project, job)


def test_a_javascript_job_runs_with_its_adaptors_from_the_default_repository(tmp_path, monkeypatch):
    from airflow.configuration import AIRFLOW_HOME

    # tests/conftest.py points every test at the shared repository; this one is about the default.
    monkeypatch.delenv("AIRFLOW__OPENFN__ADAPTORS_PATH", raising=False)

    dag = _js_job_dag(tmp_path)
    code = dag.get_task("run").job_code()

    assert code == JobCode(
        str(tmp_path / "intake.js"),
        adaptors=(HTTP,),
        timeout=code.timeout,
        memory_limit_mb=1024,
        console=True,
        test_mode=False,
        adaptors_path=str(Path(AIRFLOW_HOME) / "openfn" / "adaptors"),
    )
    assert code.language == "javascript" and code.timeout
    assert "```javascript\nfn(state => state);" in dag.doc_md


def test_adaptors_path_names_the_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENFN__ADAPTORS_PATH", str(tmp_path / "repo"))
    code = _js_job_dag(tmp_path).get_task("run").job_code()
    assert code.adaptors_path == str(tmp_path / "repo")
