"""The resident memory (RSS) of the server's processes, sampled with psutil while the load runs,
and the CPU time they use.

`MemorySampler(roots)` watches each root process (the gunicorn master, the HL7 listener) and
its children (the gunicorn workers; a worker that is replaced is a new process), every
`interval` seconds, in a background thread (a greenlet once locust has patched the standard
library). It keeps each process's peak and every sample with its time, so the soak can
compare the first minute with the last.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class Watched:
    pid: int
    role: str
    peak_bytes: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds used so far by a process and its live children."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in family:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


class MemorySampler:
    def __init__(self, roots: dict[str, int], interval: float = 0.5) -> None:
        """`roots` maps a name ("gunicorn", "hl7 listener") to a process id."""
        self.roots = roots
        self.interval = interval
        self.processes: dict[int, Watched] = {}
        self.started_at = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self.started_at = time.monotonic()
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        now = time.monotonic() - self.started_at
        for name, pid in self.roots.items():
            try:
                root = psutil.Process(pid)
                children = root.children(recursive=True)
            except psutil.Error:
                continue
            family = [(root, f"{name} master" if children else name)]
            family += [(child, f"{name} worker") for child in children]
            for process, role in family:
                try:
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                watched = self.processes.setdefault(process.pid, Watched(process.pid, role))
                watched.peak_bytes = max(watched.peak_bytes, rss)
                watched.samples.append((now, rss))

    def peaks_mb(self) -> list[tuple[str, int, float]]:
        """(label, pid, peak MB) per process; workers numbered in the order first seen."""
        out = []
        counts: dict[str, int] = {}
        for watched in self.processes.values():
            label = watched.role
            if watched.role.endswith("worker"):
                counts[watched.role] = counts.get(watched.role, 0) + 1
                label = f"{watched.role} {counts[watched.role]}"
            out.append((label, watched.pid, watched.peak_bytes / 2**20))
        return out

    def total_mb_between(self, start: float, end: float) -> float:
        """The median, over the samples taken between `start` and `end` seconds after the
        sampler started, of the sum of every watched process's RSS (MB)."""
        by_moment: dict[float, int] = {}
        for watched in self.processes.values():
            for moment, rss in watched.samples:
                if start <= moment <= end:
                    by_moment[moment] = by_moment.get(moment, 0) + rss
        if not by_moment:
            return float("nan")
        # one sampling round stamps all its processes with the same moment
        return statistics.median(by_moment.values()) / 2**20
