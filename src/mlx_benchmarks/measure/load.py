"""Load patterns: one request at a time, or a bounded number in flight. Bounded in count and in time.

A failed request is data: it comes back as a Completion with ``error`` set, never as an exception.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from mlx_benchmarks.errors import TargetError
from mlx_benchmarks.measure.stats import summary
from mlx_benchmarks.measure.timing import Completion, collect
from mlx_benchmarks.targets.base import ChatRequest, Target, now_ns


def output_tokens(completion: Completion) -> tuple[int, str]:
    """(output token count, its source): the server's usage when it reports one, else streamed events."""
    if completion.usage is not None and completion.usage.completion_tokens is not None:
        return completion.usage.completion_tokens, "usage"
    return completion.streamed_events, "stream-events"


async def send(target: Target, request: ChatRequest, *, keep_text: bool = True) -> Completion:
    """One request, timed from just before it is sent; any failure is recorded on the Completion.

    ``keep_text=False``: the answer's text is not kept (load levels time answers, never read them)."""
    start = now_ns()
    try:
        completion = await collect(target.stream(request), start_ns=start, keep_text=keep_text)
    except TargetError as exc:
        completion = Completion(start_ns=start, end_ns=now_ns(), error=str(exc))
    except (OSError, ValueError) as exc:  # a transport failure the target did not translate
        completion = Completion(start_ns=start, end_ns=now_ns(), error=f"{type(exc).__name__}: {exc}")
    if completion.ok and completion.first_token_ns is None:
        completion.error = "the stream carried no token"
    return completion


@dataclass
class LoadResult:
    """Completions of one load run (in submission order) and the wall and CPU time they took."""

    completions: list[Completion]
    wall_s: float
    cpu_s: float
    concurrency: int
    timed_out: int = 0  # requests never sent because the time limit ran out

    @property
    def ok(self) -> list[Completion]:
        return [c for c in self.completions if c.ok]

    @property
    def failed(self) -> list[Completion]:
        return [c for c in self.completions if not c.ok]


async def run_load(
    target: Target,
    make_request: Callable[[int], ChatRequest],
    *,
    n_requests: int,
    concurrency: int,
    time_limit_s: float = 600.0,
    on_done: Callable[[Completion], None] | None = None,
) -> LoadResult:
    """Send ``n_requests`` with at most ``concurrency`` in flight; stop starting new ones after the time limit.

    ``on_done`` sees each completion as it finishes (live progress); it must be cheap.
    """
    if n_requests < 1 or concurrency < 1:
        raise ValueError("n_requests and concurrency must be at least 1")
    results: list[Completion | None] = [None] * n_requests
    next_index = 0
    deadline = time.monotonic() + time_limit_s

    async def worker() -> None:
        nonlocal next_index
        while next_index < n_requests and time.monotonic() < deadline:
            index = next_index
            next_index += 1
            results[index] = completion = await send(target, make_request(index), keep_text=False)
            if on_done is not None:
                on_done(completion)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, n_requests))))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    done = [c for c in results if c is not None]
    return LoadResult(done, wall, cpu, concurrency, timed_out=n_requests - len(done))


def trim(result: LoadResult, *, first: float = 0.0, last: float = 0.0, unit: str = "requests") -> LoadResult:
    """The load run without its first and last requests (or seconds): warm-up and cool-down of a level.

    In requests: the first ``first`` and the last ``last`` to start. In seconds: requests that started within
    ``first`` seconds of the first start, or ended within ``last`` seconds of the last end. Wall time becomes
    the kept requests' span (first start to last end), so rates are those of the steady part; client CPU
    time is scaled to the share of requests kept.
    """
    if not first and not last:
        return result
    ordered = sorted(result.completions, key=lambda c: c.start_ns)
    if unit == "requests":
        kept = ordered[int(first):len(ordered) - int(last)] if int(first) + int(last) < len(ordered) else []
    else:
        begin = ordered[0].start_ns + first * 1e9 if ordered else 0
        end = max(c.end_ns for c in ordered) - last * 1e9 if ordered else 0
        kept = [c for c in ordered if c.start_ns >= begin and c.end_ns <= end]
    span = (max(c.end_ns for c in kept) - min(c.start_ns for c in kept)) / 1e9 if kept else 0.0
    share = len(kept) / max(len(result.completions), 1)
    return replace(result, completions=kept, wall_s=span, cpu_s=result.cpu_s * share)


def tpot_ms(completion: Completion) -> float | None:
    """Time per output token after the first: (end - first token) / (output tokens - 1)."""
    n, _ = output_tokens(completion)
    if completion.first_token_ns is None or n < 2:
        return None
    last = completion.token_times_ns[-1] if completion.token_times_ns else completion.end_ns
    return (last - completion.first_token_ns) / 1e6 / (n - 1)


@dataclass
class LoadSummary:
    """Aggregate figures of one load run."""

    requests_ok: int
    requests_failed: int
    output_tokens: int
    output_tps: float
    requests_per_s: float
    client_cpu_ms_per_request: float
    ttft_ms: dict[str, float] = field(default_factory=dict)
    itl_ms: dict[str, float] = field(default_factory=dict)
    tpot_ms: dict[str, float] = field(default_factory=dict)
    e2e_ms: dict[str, float] = field(default_factory=dict)
    token_count_source: str = "usage"


def summarise(result: LoadResult) -> LoadSummary:
    """Aggregate output tok/s, requests/s and TTFT / ITL / TPOT / end-to-end percentiles (ms)."""
    ok = result.ok
    counts = [output_tokens(c) for c in ok]
    total = sum(n for n, _ in counts)
    sources = {s for _, s in counts}
    wall = max(result.wall_s, 1e-9)
    return LoadSummary(
        requests_ok=len(ok),
        requests_failed=len(result.failed),
        output_tokens=total,
        output_tps=total / wall,
        requests_per_s=len(ok) / wall,
        client_cpu_ms_per_request=result.cpu_s * 1e3 / max(len(result.completions), 1),
        ttft_ms=summary([c.ttft_ms for c in ok if c.ttft_ms is not None]),
        itl_ms=summary([x for c in ok for x in c.itl_ms()]),
        tpot_ms=summary([t for c in ok if (t := tpot_ms(c)) is not None]),
        e2e_ms=summary([c.duration_s * 1e3 for c in ok]),
        token_count_source="stream-events" if "stream-events" in sources else "usage",
    )


def error_lines(completions: Sequence[Completion], what: str = "requests") -> list[str]:
    """``"3 of 12 requests failed: HTTP 500: boom"``, one line per distinct reason, most frequent first."""
    failed = Counter(c.error for c in completions if c.error)
    total = len(completions)
    return [f"{n} of {total} {what} failed: {reason}" for reason, n in failed.most_common()]


@dataclass
class ClientCheck:
    """The harness's own limits on this machine, measured against the loopback calibration server."""

    ceilings: dict[int, LoadSummary]  # concurrency -> what one client process drives at zero server delay
    ttft_error_ms_p50: float | None  # measured TTFT minus the server's set TTFT
    ttft_error_ms_p99: float | None
    ttft_set_ms: float
    client_processes: int = 1  # the ceilings are those of this many client processes

    def ceiling_at(self, concurrency: int) -> LoadSummary:
        """The ceiling measured at the nearest concurrency at or below ``concurrency``."""
        below = [c for c in self.ceilings if c <= concurrency] or [min(self.ceilings)]
        return self.ceilings[max(below)]

    def tags(self, concurrency: int = 1) -> dict[str, object]:
        top = self.ceiling_at(concurrency)
        return {
            "client_ceiling_tok_per_sec": round(top.output_tps, 1),
            "client_ceiling_req_per_sec": round(top.requests_per_s, 1),
            "client_ceiling_concurrency": max(c for c in self.ceilings if self.ceilings[c] is top),
            "client_cpu_ms_per_request": round(top.client_cpu_ms_per_request, 3),
            "client_ttft_error_ms_p50": "n/a" if self.ttft_error_ms_p50 is None else round(self.ttft_error_ms_p50, 3),
        }

    def near_ceiling(self, tokens_per_s: float | None, concurrency: int = 1, fraction: float = 0.5) -> bool:
        """True when a measured rate is within reach of what the client itself can drive."""
        top = self.ceiling_at(concurrency)
        return tokens_per_s is not None and tokens_per_s >= fraction * top.output_tps


def calibration_request(tokens: int, ttft_ms: float = 0.0, itl_ms: float = 0.0) -> ChatRequest:
    extra = {"calibration_ttft_ms": ttft_ms, "calibration_itl_ms": itl_ms}
    return ChatRequest(messages=[{"role": "user", "content": "calibrate"}], max_tokens=tokens, extra_body=extra)


async def ceiling(target: Target, *, concurrency: int, n_requests: int, tokens: int = 32) -> LoadSummary:
    """Requests/s and tokens/s against a zero-delay server (after a short warm-up)."""
    await run_load(target, lambda i: calibration_request(tokens), n_requests=min(concurrency, n_requests),
                   concurrency=concurrency, time_limit_s=30)
    result = await run_load(target, lambda i: calibration_request(tokens), n_requests=n_requests,
                            concurrency=concurrency, time_limit_s=60)
    return summarise(result)


async def ttft_errors(target: Target, *, ttft_ms: float, itl_ms: float, n_requests: int,
                      tokens: int = 4) -> list[float]:
    """Measured minus set TTFT (ms) of sequential requests to a paced server."""
    await send(target, calibration_request(tokens, ttft_ms, itl_ms))  # connection set-up is not timing error
    out = []
    for _ in range(n_requests):
        completion = await send(target, calibration_request(tokens, ttft_ms, itl_ms))
        if completion.ttft_ms is not None:
            out.append(completion.ttft_ms - ttft_ms)
    return out


CeilingsFn = Callable[[Target, list[int]], Awaitable[dict[int, LoadSummary]]]


async def check_client(*, concurrency: Sequence[int] = (1,), n_requests: int = 200, tokens: int = 32,
                       ttft_ms: float = 20.0, timing_requests: int = 10, client_processes: int = 1,
                       ceilings_of: CeilingsFn | None = None) -> ClientCheck:
    """A quick in-run calibration (about a second): the client's ceiling and its TTFT error on loopback.

    ``ceilings_of(target, levels)`` measures the ceilings instead of this process (``client_processes``
    worker processes: ``measure.workers.ceilings_with``).
    """
    from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer
    from mlx_benchmarks.targets.openai_http import OpenAITarget

    levels = sorted(set(concurrency) | {1})
    with SpawnedCalibrationServer() as server:
        target = OpenAITarget(server.url, max_connections=max(levels))
        await target.start()
        try:
            if ceilings_of is not None:
                ceilings = await ceilings_of(target, levels)
            else:
                ceilings = {c: await ceiling(target, concurrency=c, n_requests=max(n_requests, 4 * c),
                                             tokens=tokens) for c in levels}
            errors = await ttft_errors(target, ttft_ms=ttft_ms, itl_ms=1.0, n_requests=timing_requests)
        finally:
            await target.stop()
    err = summary(errors)
    return ClientCheck(ceilings, err.get("p50"), err.get("p99"), ttft_ms, client_processes)
