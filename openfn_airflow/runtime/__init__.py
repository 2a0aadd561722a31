"""The job runtime: operations over state, the http adaptor, console capture, ``run_job``.

Pure Python (no Airflow, no database). Job files import their helpers from here::

    from openfn_airflow.runtime import fn, each, data_value
    from openfn_airflow.runtime.adaptors.http import get, post
"""

from __future__ import annotations

from .execution import RunResult, run_job
from .exit_codes import ExitCode, status_for
from .job_files import JobLoadError, load_job
from .operations import (
    alter_state,
    as_,
    chunk,
    combine,
    cursor,
    each,
    field,
    fields,
    fn,
    fn_if,
    log,
    map,
    map_,
    merge,
    to_array,
)
from .references import (
    data_path,
    data_value,
    expand,
    json_value,
    last_reference_value,
    reference_path,
    source,
    source_value,
)
from .state import Operation, State, compose_next_state

__all__ = [
    "ExitCode",
    "JobLoadError",
    "Operation",
    "RunResult",
    "State",
    "alter_state",
    "as_",
    "chunk",
    "combine",
    "compose_next_state",
    "cursor",
    "data_path",
    "data_value",
    "each",
    "expand",
    "field",
    "fields",
    "fn",
    "fn_if",
    "json_value",
    "last_reference_value",
    "load_job",
    "log",
    "map",
    "map_",
    "merge",
    "reference_path",
    "run_job",
    "source",
    "source_value",
    "status_for",
    "to_array",
]
