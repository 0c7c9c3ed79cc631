"""A background memory sampler: RSS of the target's process tree, free memory, swap; on macOS also the
tree's physical footprint and wired memory (``memory_source``). No reading starts a subprocess."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil

from mlx_benchmarks.envelope import MemorySnapshot
from mlx_benchmarks.measure.memory_source import MemorySource, choose_memory_source

GB = 1024**3
MB = 1024**2


@dataclass(frozen=True)
class Sample:
    """One reading of the sampler."""

    t: float  # time.monotonic()
    rss_bytes: int
    free_bytes: int
    swap_bytes: int
    wired_bytes: int | None
    footprint_bytes: int | None = None  # macOS physical footprint of the process tree


def _tree(process: psutil.Process) -> list[psutil.Process]:
    """A process and its children (a server may fork workers); [] once it is gone."""
    try:
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return []


def _tree_rss(tree: list[psutil.Process]) -> int:
    total = 0
    for process in tree:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def _tree_footprint(tree: list[psutil.Process], source: MemorySource) -> int | None:
    values = [source.footprint_bytes(p.pid) for p in tree]
    known = [v for v in values if v is not None]
    return sum(known) if known else None


@dataclass
class MemorySampler:
    """Samples at ``hz`` (10 or more) on a daemon thread; ``read()`` takes one reading on demand."""

    pid: int | None = None
    hz: float = 20.0
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    source: MemorySource = field(default_factory=choose_memory_source)  # chosen once, by platform

    def __post_init__(self) -> None:
        self._process: psutil.Process | None = None
        self.watch(self.pid)

    def watch(self, pid: int | None) -> None:
        """Follow another process from now on (a managed server once it started, say)."""
        self.pid = pid
        try:
            self._process = psutil.Process(pid) if pid else psutil.Process()
        except psutil.Error:
            self._process = None

    def read(self) -> Sample:
        """One reading now, kept with the others."""
        vm = psutil.virtual_memory()
        tree = _tree(self._process) if self._process else []
        sample = Sample(
            t=time.monotonic(),
            rss_bytes=_tree_rss(tree),
            free_bytes=int(vm.available),
            swap_bytes=int(psutil.swap_memory().used),
            wired_bytes=self.source.wired_bytes(vm),
            footprint_bytes=_tree_footprint(tree, self.source),
        )
        with self._lock:
            self.samples.append(sample)
        return sample

    def _loop(self) -> None:
        interval = 1.0 / self.hz
        while not self._stop.wait(interval):
            self.read()

    def start(self) -> MemorySampler:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def mark(self) -> float:
        """A point in time to ask ``peak_rss_mb(since=...)`` about later."""
        return time.monotonic()

    def peak_rss_mb(self, since: float | None = None) -> float | None:
        with self._lock:
            values = [s.rss_bytes for s in self.samples if since is None or s.t >= since]
        return max(values) / MB if values else None

    def peak_footprint_mb(self, since: float | None = None) -> float | None:
        """Peak physical footprint since a mark, where the platform reports one (macOS), else None."""
        with self._lock:
            values = [s.footprint_bytes for s in self.samples
                      if s.footprint_bytes is not None and (since is None or s.t >= since)]
        return max(values) / MB if values else None

    def peak_sample(self) -> Sample | None:
        with self._lock:
            return max(self.samples, key=lambda s: s.rss_bytes) if self.samples else None

    def snapshot(self, phase: str, sample: Sample | None = None) -> MemorySnapshot:
        """An envelope memory snapshot from a reading (a fresh one by default)."""
        sample = sample or self.read()
        return MemorySnapshot(
            phase=phase,
            rss_gb=round(sample.rss_bytes / GB, 4),
            free_gb=round(sample.free_bytes / GB, 3),
            swap_mb=round(sample.swap_bytes / MB, 1),
            wired_gb=None if sample.wired_bytes is None else round(sample.wired_bytes / GB, 3),
        )

    def timeline(self) -> list[tuple[float, float]]:
        """(seconds since first sample, RSS MB) pairs, for charts."""
        with self._lock:
            if not self.samples:
                return []
            t0 = self.samples[0].t
            return [(round(s.t - t0, 3), round(s.rss_bytes / MB, 1)) for s in self.samples]
