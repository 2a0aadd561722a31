"""The cron cursor's size limit: a final state too big to carry fails its run, loudly.

Checked by the job task after the job finished and before the run is recorded, so Python and
JavaScript jobs meet the same rule. OpenFn kept such a state silently ("the next run inherits the
last saved state"): a job whose state grew past the limit then started from the same old cursor
for ever, with nothing said.
"""

from __future__ import annotations

import json
from typing import Any

from openfn_airflow.runtime import ExitCode, RunResult, status_for
from openfn_airflow.store.runs import cursor_of

#: OpenFn's own limit on a saved final state (bytes).
DEFAULT_CURSOR_MAX_BYTES = 50_000
_BIGGEST_KEYS = 3


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (what ``JSON.stringify`` would give)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def over_limit(final_state: dict[str, Any] | None, limit: int) -> tuple[int, str] | None:
    """Return the cursor's size and the words saying so when it is over ``limit``, else None.

    The words hold sizes and key names only, never values: they go to Airflow's task log too.
    """
    cursor = cursor_of(final_state)
    size = json_size(cursor)
    if size <= limit:
        return None
    sizes = sorted(((json_size(v), k) for k, v in cursor.items()), reverse=True)
    biggest = ", ".join(f"{key}: {n:,} bytes" for n, key in sizes[:_BIGGEST_KEYS])
    return size, (
        f"The final state is over the cursor limit: {size:,} bytes, {size - limit:,} over "
        f"[openfn] cursor_max_bytes ({limit:,}); biggest keys: {biggest}. A cron job's final "
        "state (without references) is its next run's initial state, so this run failed and the "
        "next one starts from the last successful run's state. To fix it, keep less at the end "
        "of the job (set data to {} when the next run does not need it, drop keys it does not "
        "read) or raise [openfn] cursor_max_bytes."
    )


def enforce_cursor_limit(result: RunResult, limit: int) -> str | None:
    """Fail ``result`` (exit 1) when its final state is over ``limit``; return the reason.

    The final state stays recorded whole, for the run's page; a failed run is never a cursor.
    """
    if result.exit_code != ExitCode.SUCCESS:
        return None
    found = over_limit(result.final_state, limit)
    if found is None:
        return None
    size, reason = found
    result.exit_code = ExitCode.JOB_ERROR
    result.status = status_for(ExitCode.JOB_ERROR)
    result.error = f"the final state ({size:,} bytes) is over the cursor limit ({limit:,})"
    result.log = f"{result.log}\n{reason}\n" if result.log.strip() else f"{reason}\n"
    return reason
