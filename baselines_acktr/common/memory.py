"""Resident memory over a run's life: ``memory.csv`` beside ``progress.csv``.

Not in baselines.  A row every ``interval`` seconds (and at the first and last update):
``unix_time``, ``nupdates``, ``total_timesteps``, ``rss_mb``
(the learner process) and ``children_rss_mb`` (its live child processes: the env
workers), read from ``/proc`` on Linux; elsewhere ``rss_mb`` is the peak RSS
(``ru_maxrss``) and the children are not counted.  So a long run shows whether its
memory grows over hours.
"""
from __future__ import annotations

import csv
import os
import sys
import time

COLUMNS = ("unix_time", "nupdates", "total_timesteps", "rss_mb", "children_rss_mb")


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of process ``pid`` in MiB (nan if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    if pid == "self":
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)
    return float("nan")


def children_rss_mb() -> float:
    """Summed RSS of this process's live ``multiprocessing`` children (the env workers)."""
    import multiprocessing

    sizes = [rss_mb(p.pid) for p in multiprocessing.active_children()]
    return float(sum(s for s in sizes if s == s))


class MemoryLog:
    """Appends rows to ``<log_dir>/memory.csv`` (a resumed run continues the file)."""

    def __init__(self, log_dir: str, interval: float = 60.0):
        self.path = os.path.join(log_dir, "memory.csv")
        self.interval = float(interval)
        self.last = None
        if not os.path.exists(self.path):
            with open(self.path, "w", newline="") as fh:
                csv.writer(fh).writerow(COLUMNS)

    def __call__(self, update: int, timesteps: int, force: bool = False) -> None:
        now = time.time()
        if not force and self.last is not None and now - self.last < self.interval:
            return
        self.last = now
        with open(self.path, "a", newline="") as fh:
            csv.writer(fh).writerow([f"{now:.1f}", update, timesteps,
                                     f"{rss_mb():.1f}", f"{children_rss_mb():.1f}"])
