"""Open-loop load: requests arrive on a schedule (``--request-rate``), whether or not earlier ones finished.

A closed loop (``run_load``) never offers more than the target can take: each worker waits for its answer.
Real traffic does not wait, so an open loop shows what a concurrency sweep hides: queueing, TTFT that
climbs once the offered rate passes what the target serves. As in ``vllm bench serve`` the gaps between
arrivals are drawn from a gamma distribution of shape ``burstiness`` with mean 1/rate (1.0 is a Poisson
process; lower is burstier, higher is steadier), or are all exactly 1/rate (``constant``). The schedule is
seeded, so two runs offer the same load, and how late each request left against its schedule is recorded:
a client that cannot keep its own schedule would otherwise be measured as a slow server.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mlx_benchmarks.measure.load import LoadResult, send
from mlx_benchmarks.measure.stats import percentile
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.targets.base import ChatRequest, Target

ARRIVALS = ("poisson", "gamma", "constant")


def arrival_offsets(n: int, rate: float, *, arrival: str = "poisson", burstiness: float = 1.0,
                    seed: int = 0) -> list[float]:
    """Seconds from the start at which each of ``n`` requests is due; the first is due at once."""
    if n < 1 or not math.isfinite(rate) or rate <= 0:
        raise ValueError("n must be at least 1 and rate a positive number")
    if arrival not in ARRIVALS:
        raise ValueError(f"arrival must be one of {', '.join(ARRIVALS)}")
    if arrival == "constant":
        return [i / rate for i in range(n)]
    shape = 1.0 if arrival == "poisson" else burstiness
    if shape <= 0:
        raise ValueError("burstiness must be positive")
    rng = random.Random(seed)
    offsets, now = [0.0], 0.0
    for _ in range(n - 1):
        now += rng.gammavariate(shape, 1.0 / (rate * shape))  # mean 1/rate whatever the shape
        offsets.append(now)
    return offsets


@dataclass
class RateLoadResult(LoadResult):
    """A load run on a schedule: also the rate offered and how late the client sent against it."""

    offered_rate: float = 0.0
    realized_rate: float | None = None  # (n - 1) / the schedule's span: what this draw of arrivals offered
    send_lag_ms_p50: float | None = None
    send_lag_ms_p99: float | None = None
    send_lags_ms: list[float] = field(default_factory=list)  # per request sent, in the order sent

    @property
    def max_in_flight(self) -> int:
        """The most requests in flight at once (what ``concurrency`` holds for an open loop)."""
        return self.concurrency

    @property
    def completion_rate(self) -> float | None:
        """(n - 1) / (last end - first end): the pace answers came at, which matches the arrivals' pace
        when the target keeps up and falls to its service rate when it does not."""
        ends = sorted(c.end_ns for c in self.ok)
        if len(ends) < 2 or ends[-1] <= ends[0]:
            return None
        return (len(ends) - 1) / ((ends[-1] - ends[0]) / 1e9)


async def run_rate(target: Target, make_request: Callable[[int], ChatRequest], *, n_requests: int, rate: float,
                   arrival: str = "poisson", burstiness: float = 1.0, seed: int = 0,
                   max_concurrency: int | None = None, time_limit_s: float = 600.0,
                   on_done: Callable[[Completion], None] | None = None, offsets: Sequence[float] | None = None,
                   epoch_ns: int | None = None) -> RateLoadResult:
    """Send ``n_requests`` at their scheduled times; none is due after ``time_limit_s`` is sent.

    ``max_concurrency`` caps requests in flight: an arrival then waits for a slot, and, as in vLLM's
    ``--max-concurrency``, its timing starts when it is sent, not when it arrived. A client worker process
    (``measure.workers``) passes its stripe of a shared schedule as ``offsets`` and the shared start as
    ``epoch_ns`` (``time.perf_counter_ns``); by default the schedule is drawn here and starts now.
    """
    if offsets is None:
        offsets = arrival_offsets(n_requests, rate, arrival=arrival, burstiness=burstiness, seed=seed)
    slots = asyncio.Semaphore(max_concurrency) if max_concurrency else None
    results: list[Completion | None] = [None] * n_requests
    lags_ms: list[float] = []
    in_flight = peak = 0
    started = time.perf_counter() if epoch_ns is None else epoch_ns / 1e9

    async def one(index: int) -> None:
        delay = started + offsets[index] - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lags_ms.append((time.perf_counter() - started - offsets[index]) * 1e3)
        request = make_request(index)
        if slots is not None:
            async with slots:
                results[index] = await _tracked(request)
        else:
            results[index] = await _tracked(request)

    async def _tracked(request: ChatRequest) -> Completion:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            completion = await send(target, request, keep_text=False)  # timed, never read
        finally:
            in_flight -= 1
        if on_done is not None:
            on_done(completion)
        return completion

    due = [i for i, offset in enumerate(offsets) if offset <= time_limit_s]
    cpu0 = time.process_time()
    await asyncio.gather(*(one(i) for i in due))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    done = [c for c in results if c is not None]
    span = offsets[due[-1]] if due else 0.0
    return RateLoadResult(done, wall, cpu, concurrency=peak, timed_out=n_requests - len(done), offered_rate=rate,
                          realized_rate=(len(due) - 1) / span if span > 0 else None,
                          send_lag_ms_p50=percentile(lags_ms, 50), send_lag_ms_p99=percentile(lags_ms, 99),
                          send_lags_ms=lags_ms)
