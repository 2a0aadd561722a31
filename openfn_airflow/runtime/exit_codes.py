"""Run exit codes and the run status each one reports (OpenFn v1 numbering)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """How a run ended; the numbers are OpenFn v1's, which users already know."""

    SUCCESS = 0
    JOB_ERROR = 1
    TIMEOUT = 2
    COULD_NOT_START = 3
    NOT_SAVED = 4
    UNEXPECTED = 5
    LOAD_ERROR = 10
    OUT_OF_MEMORY = 134


_STATUS = {
    ExitCode.SUCCESS: "success",
    ExitCode.JOB_ERROR: "failed",
    ExitCode.TIMEOUT: "killed",
    ExitCode.COULD_NOT_START: "crashed",
    # The job finished but its record was lost: nothing trustworthy to show but a crash.
    ExitCode.NOT_SAVED: "crashed",
    ExitCode.UNEXPECTED: "crashed",
    ExitCode.LOAD_ERROR: "crashed",
    ExitCode.OUT_OF_MEMORY: "killed",
}


def status_for(exit_code: int) -> str:
    """Return the run status for an exit code; unknown codes are "crashed"."""
    try:
        return _STATUS[ExitCode(exit_code)]
    except ValueError:
        return "crashed"


_MEANING = {
    ExitCode.SUCCESS: "success",
    ExitCode.JOB_ERROR: "the job raised an error",
    ExitCode.TIMEOUT: "the job ran past its timeout and was stopped",
    ExitCode.COULD_NOT_START: "the run could not start (missing input, message or credential)",
    ExitCode.NOT_SAVED: "the job finished but its run record could not be saved",
    ExitCode.UNEXPECTED: "unexpected error (the task process ended or the runtime failed)",
    ExitCode.LOAD_ERROR: "the job file does not load (syntax or import error)",
    ExitCode.OUT_OF_MEMORY: "the job used more memory than its limit and was stopped",
}


def meaning_of(exit_code: int | None) -> str | None:
    """Return what an exit code means, in words a user reads next to it; None when there is none."""
    if exit_code is None:
        return None
    try:
        return _MEANING[ExitCode(exit_code)]
    except ValueError:
        return f"unknown exit code {exit_code}"
