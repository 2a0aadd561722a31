"""CPU time and peak memory of the Airflow processes a bench started (and all their children).

Task processes come and go; their CPU time is not lost when they exit because each parent
reaps its children and ``children_user`` / ``children_system`` then carry it. PostgreSQL's
backends are not ours and are not counted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable

import psutil

SAMPLE_SECONDS = 1.0


def _tree(pids: Iterable[int]) -> list[psutil.Process]:
    processes: list[psutil.Process] = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(pid)
            processes.append(root)
            processes.extend(root.children(recursive=True))
    return processes


class ProcessTree:
    """Samples the trees under ``pids`` (plus this process) in a background thread."""

    def __init__(self, pids: Iterable[int]) -> None:
        self.pids = list(pids)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-rss", daemon=True)

    def start(self) -> ProcessTree:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the trees (live and reaped processes)."""
        total = 0.0
        for process in _tree(self.pids):
            with contextlib.suppress(psutil.NoSuchProcess):
                t = process.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        return total

    def rss(self) -> int:
        """Sum of resident set sizes (pages shared by forked processes count once per process)."""
        total = 0
        for process in [psutil.Process(), *_tree(self.pids)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            with contextlib.suppress(Exception):  # a sample racing a process exit is skipped
                self.peak_rss = max(self.peak_rss, self.rss())
