"""Stop a job that uses more memory than its limit (exit 134, as Node's out-of-memory in v1).

The limit is on the process's address space (``RLIMIT_AS``), raised for the job's duration to
what the process already maps plus the limit, and put back after: an allocation past it fails,
Python raises ``MemoryError`` inside the job, the job's objects are freed as it unwinds, and the
task process carries on to record the run. Address space counts what is reserved, not only what
is touched, so the limit is a ceiling on what a job may reserve beyond the process as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

try:
    import resource
except ImportError:  # not on POSIX: no limit
    resource = None  # type: ignore[assignment]

MB = 1024 * 1024


def mapped_bytes() -> int | None:
    """The process's address space now (``VmSize``), or None where /proc does not tell."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


@contextlib.contextmanager
def memory_limit(limit_mb: int | None) -> Iterator[bool]:
    """Within the block, the process may map at most ``limit_mb`` MB more than it does now.

    Yields whether a limit is in force (no limit: None or 0, no ``resource`` module, or a
    hard limit already below the ceiling).
    """
    mapped = mapped_bytes()
    if not limit_mb or resource is None or mapped is None:
        yield False
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    ceiling = mapped + limit_mb * MB
    if hard != resource.RLIM_INFINITY and hard < ceiling:
        yield False
        return
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    try:
        yield True
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
