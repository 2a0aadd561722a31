"""Importing an OpenFn project export (v1 platform or Lightning) as a project of this project's spec."""

from __future__ import annotations

from openfn_airflow.imports.models import BadExport, ImportedProject
from openfn_airflow.imports.reader import read_export

__all__ = ["BadExport", "ImportedProject", "read_export"]
