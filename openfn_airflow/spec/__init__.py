"""The project spec: `project.yaml` -> typed, validated objects. Pure Python, no Airflow."""

from __future__ import annotations

from openfn_airflow.spec.durations import parse_duration
from openfn_airflow.spec.folders import SpecCheck, check_path, find_projects, validate_path
from openfn_airflow.spec.loader import SPEC_NAMES, load_project, load_project_lenient
from openfn_airflow.spec.models import ArchivedJob, Job, Project, Retention, Trigger, TriggerKind
from openfn_airflow.spec.problems import Problem, SpecError
from openfn_airflow.spec.projects import parse_project

__all__ = [
    "SPEC_NAMES",
    "ArchivedJob",
    "Job",
    "Problem",
    "Project",
    "Retention",
    "SpecCheck",
    "SpecError",
    "Trigger",
    "TriggerKind",
    "check_path",
    "find_projects",
    "load_project",
    "load_project_lenient",
    "parse_duration",
    "parse_project",
    "validate_path",
]
