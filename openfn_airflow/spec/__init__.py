"""The project spec: `project.yaml` -> typed, validated objects. Pure Python, no Airflow."""

from __future__ import annotations

from openfn_airflow.spec.durations import parse_duration
from openfn_airflow.spec.folders import find_projects, validate_path
from openfn_airflow.spec.loader import SPEC_NAMES, load_project, load_project_lenient
from openfn_airflow.spec.models import Job, Project, Retention, Trigger, TriggerKind
from openfn_airflow.spec.problems import Problem, SpecError
from openfn_airflow.spec.projects import parse_project

__all__ = [
    "SPEC_NAMES",
    "Job",
    "Problem",
    "Project",
    "Retention",
    "SpecError",
    "Trigger",
    "TriggerKind",
    "find_projects",
    "load_project",
    "load_project_lenient",
    "parse_duration",
    "parse_project",
    "validate_path",
]
