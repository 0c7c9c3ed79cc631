"""One memory window per speed cell and per quality task: the target's own peak (MLX's allocator, where the
target has a ``MemoryProbe``) is reset when the window opens, and the window's tags are read when it closes.

Tags (docs/timing.md): ``mlx_peak_memory_mb`` (MLX's peak within the window), ``mlx_active_memory_mb`` and
``mlx_cache_memory_mb`` (at its end), ``footprint_peak_mb`` (macOS physical footprint, sampled). A figure
the platform does not measure is left out, never written as 0.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.measure.memory import MB, MemorySampler
from mlx_benchmarks.suites.base import RunContext
from mlx_benchmarks.targets.base import ChatRequest, MemoryCounters, MemoryProbe, memory_probe

T = TypeVar("T")
NOT_TRACKED = "not tracked: MLX reported a peak of 0 bytes over work that ran (its allocator does not count this backend)"


def counter_tags(counters: MemoryCounters) -> dict[str, object]:
    """MLX's counters as tags in MiB, or why there are none (a peak of 0 after generating is no measurement)."""
    if counters.peak_bytes <= 0:
        return {"mlx_memory": NOT_TRACKED}
    return {
        "mlx_peak_memory_mb": round(counters.peak_bytes / MB, 1),
        "mlx_active_memory_mb": round(counters.active_bytes / MB, 1),
        "mlx_cache_memory_mb": round(counters.cache_bytes / MB, 1),
    }


@dataclass(frozen=True)
class MemoryWindow:
    """A span of a run whose memory is reported on its own."""

    sampler: MemorySampler
    probe: MemoryProbe | None
    mark: float

    @classmethod
    def open(cls, ctx: RunContext) -> MemoryWindow:
        """Reset the target's peak (where it has one) and mark the sampler."""
        probe = memory_probe(ctx.target)
        if probe is not None:
            probe.reset_peak_memory()
        return cls(ctx.memory, probe, ctx.memory.mark())

    def tags(self) -> dict[str, object]:
        """The window's memory tags, read now (call once the window's work is done)."""
        self.sampler.read()  # a window shorter than the sampling interval still gets a reading
        tags: dict[str, object] = {}
        footprint = self.sampler.peak_footprint_mb(since=self.mark)
        if footprint is not None:
            tags["footprint_peak_mb"] = round(footprint, 1)
        counters = self.probe.memory_counters() if self.probe is not None else None
        if counters is not None:
            tags.update(counter_tags(counters))
        return tags

    def tag_all(self, results: Sequence[Result]) -> None:
        """Put the window's tags on each of ``results`` (a load level's several results share one window)."""
        tags = self.tags()
        for result in results:
            result.tag(**tags)


async def windowed(ctx: RunContext, results: list[Result], work: Awaitable[T]) -> T:
    """Await ``work`` (a load level) in its own window; the results it appended get the window's tags."""
    window, first = MemoryWindow.open(ctx), len(results)
    done = await work
    window.tag_all(results[first:])
    return done


class TaskWindows:
    """One memory window per quality task, opened by the task's first request.

    The engine (``run_tasks``) finishes one task, scoring included, before it builds the next task's first
    request, so that first request is where the previous window closes and the next one opens. A task whose
    samples all came from the journal (``--resume``) builds no request here and gets no window.
    """

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.current: tuple[str, MemoryWindow] | None = None
        self.tags: dict[str, dict[str, object]] = {}

    def wrap(self, name: str, build: Callable[[Record], ChatRequest]) -> Callable[[Record], ChatRequest]:
        """``build`` for task ``name``, opening its window at its first call."""
        def build_request(record: Record) -> ChatRequest:
            if self.current is None or self.current[0] != name:
                self.close()
                self.current = (name, MemoryWindow.open(self.ctx))
            return build(record)

        return build_request

    def close(self) -> dict[str, dict[str, object]]:
        """Close the open window; the tags of every closed one, by task name."""
        if self.current is not None:
            name, window = self.current
            self.tags[name] = window.tags()
            self.current = None
        return self.tags
