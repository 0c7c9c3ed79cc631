"""A test double with the ``MemoryProbe`` capability and an ``ExecutionInfo``, for the quality suites.

``probed_gold_target`` answers like ``gold_target`` and keeps MLX-like counters: 10 MiB active, and every
request raises the peak since the last reset by 1 MiB. A suite that resets the peak once per task therefore
reports 10 + (requests of that task) MiB per task. Used as ``--target py:tests.doubles.probed_target:probed_gold_target``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

from mlx_benchmarks.targets.base import ChatRequest, Chunk, ExecutionInfo, MemoryCounters
from tests.doubles.gold_target import AnswerKeyTarget, gold_answer

MIB = 1024**2
ACTIVE_BYTES = 10 * MIB
EXECUTION = ExecutionInfo(weights_layout="q4-g64", device="gpu", compute_dtype="float16")


class ProbedGoldTarget(AnswerKeyTarget):
    """``gold_target`` with fake MLX memory counters and a fixed execution description. Not a model."""

    def __init__(self) -> None:
        super().__init__(gold_answer, "probed-gold-answer")
        self.info = dataclasses.replace(self.info, execution=EXECUTION)
        self.peak = ACTIVE_BYTES
        self.resets = 0

    def reset_peak_memory(self) -> None:
        self.resets += 1
        self.peak = ACTIVE_BYTES

    def memory_counters(self) -> MemoryCounters:
        return MemoryCounters(peak_bytes=self.peak, active_bytes=ACTIVE_BYTES, cache_bytes=0)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        self.peak += MIB
        async for chunk in super().stream(request):
            yield chunk


def probed_gold_target(model: str | None = None) -> ProbedGoldTarget:
    """The gold answers, with a MemoryProbe and an ExecutionInfo."""
    return ProbedGoldTarget()
