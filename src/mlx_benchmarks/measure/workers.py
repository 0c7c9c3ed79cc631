"""Load from several client processes (``--client-processes N``): one schedule, striped, one shared clock.

One asyncio loop on one core drives a few thousand requests a second; past that the client, not the server,
sets the pace. As GuideLLM and AIPerf do, the load is then spread over N spawned worker processes, each with
its own loop and HTTP session to the same server:

- open loop: the parent draws ONE seeded arrival schedule; request i goes to worker i mod N with its offset;
- closed loop: the concurrency is split into slots, slot j belongs to worker j mod N, and request i goes to
  the worker owning slot i mod concurrency, so each worker gets requests in proportion to its slots.

Every worker connects and reports ready first; then the parent sets one start time (the epoch) a little in
the future on the shared clock, and each worker sends its requests at epoch + offset. Each request is
stamped in the worker that sent it, with ``time.perf_counter_ns``; the parent merges the records by index.
The clock is system-wide, so stamps from different processes compare directly: on Linux it is
``clock_gettime(CLOCK_MONOTONIC)`` (``time.get_clock_info("perf_counter")`` says so; checked at run time in
tests/measure/test_client_processes.py), on macOS CPython reads ``mach_absolute_time()``, the time since
boot, for both ``perf_counter`` and ``monotonic`` (system-wide since Python 3.10; not run here: macOS
cannot run on this project's CI).

Workers are spawned, fresh interpreters (``measure.spawned``; never forked: the parent may hold asyncio and
MLX threads' locks). They live for a whole suite run (``ClientProcesses`` is a context manager), so spawning
is paid once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.load import LoadResult, LoadSummary, calibration_request, run_load, summarise
from mlx_benchmarks.measure.rate_load import RateLoadResult, arrival_offsets, run_rate
from mlx_benchmarks.measure.spawned import connection_from_argv, receive, spawn_worker, stop_worker
from mlx_benchmarks.measure.stats import percentile
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.targets.base import ChatRequest, Target

MAX_CLIENT_PROCESSES = 64
START_TIMEOUT_S = 60.0  # a spawned worker imports the package and opens its session within this
EPOCH_LEAD_S = 0.05  # the shared start is this far in the future when announced to the workers


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS has no affinity masks
        return max(1, os.cpu_count() or 1)


def parse_client_processes(value: object) -> int:
    """``--client-processes N|auto`` -> N (auto: the usable cores); UsageError otherwise."""
    text = "1" if value is None else str(value).strip().lower()
    if text == "auto":
        return usable_cores()
    try:
        number = int(text)
    except ValueError:
        raise UsageError(f"--client-processes: {text!r} is not a whole number or 'auto'") from None
    if not 1 <= number <= MAX_CLIENT_PROCESSES:
        raise UsageError(f"--client-processes: {number} is out of range (1..{MAX_CLIENT_PROCESSES})")
    return number


@dataclass(frozen=True)
class HTTPRecipe:
    """How a worker builds its own copy of an OpenAI-compatible target (kept in memory, never written)."""

    url: str
    model: str | None
    api_key: str | None
    auth: str | None
    timeout_s: float
    idle_timeout_s: float | None
    max_connections: int

    def build(self) -> Target:
        from mlx_benchmarks.targets.openai_http import OpenAITarget

        target = OpenAITarget(self.url, model=self.model, api_key=self.api_key, timeout_s=self.timeout_s,
                              idle_timeout_s=self.idle_timeout_s, max_connections=self.max_connections)
        target._auth = self.auth  # user:password from the URL, which the base URL no longer carries
        return target


def recipe_for(target: Target) -> HTTPRecipe | None:
    """A recipe for an HTTP target (also one we started, ``--serve``); None for an in-process one."""
    from mlx_benchmarks.targets.openai_http import OpenAITarget

    inner = getattr(target, "inner", target)
    if not isinstance(inner, OpenAITarget):
        return None
    return HTTPRecipe(url=inner.base_url, model=inner.model, api_key=inner._api_key, auth=inner._auth,
                      timeout_s=inner.timeout_s, idle_timeout_s=inner.idle_timeout_s,
                      max_connections=inner.max_connections)


@dataclass(frozen=True)
class Job:
    """One worker's share of a load run: (global index, offset s, request) items."""

    items: list[tuple[int, float, ChatRequest]]
    epoch_ns: int
    time_limit_s: float
    slots: int = 0  # closed loop: requests in flight; 0: open loop
    max_concurrency: int | None = None  # open loop: this worker's share of the cap


@dataclass
class Report:
    """What a worker sends back: its completions by global index, send lags, CPU and end time."""

    done: list[tuple[int, Completion]] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    end_ns: int = 0
    error: str | None = None


async def _run_job(target: Target, job: Job) -> Report:
    wait_s = (job.epoch_ns - time.perf_counter_ns()) / 1e9
    if wait_s > 0:
        await asyncio.sleep(wait_s)
    requests = [request for _, _, request in job.items]
    if job.slots:
        load: LoadResult = await run_load(target, requests.__getitem__, n_requests=len(requests),
                                          concurrency=job.slots, time_limit_s=job.time_limit_s)
        lags: list[float] = []
    else:
        rate_load = await run_rate(target, requests.__getitem__, n_requests=len(requests), rate=1.0,
                                   offsets=[offset for _, offset, _ in job.items], epoch_ns=job.epoch_ns,
                                   max_concurrency=job.max_concurrency, time_limit_s=job.time_limit_s)
        load, lags = rate_load, rate_load.send_lags_ms
    # both loops send in item order and stop at a prefix: completion k is item k
    done = [(job.items[k][0], completion) for k, completion in enumerate(load.completions)]
    return Report(done=done, lags_ms=lags, cpu_s=load.cpu_s, end_ns=time.perf_counter_ns())


def _worker_main() -> None:
    """A worker process: build and start the target, say ready, then run jobs until told to stop."""
    from mlx_benchmarks.aio import run_coroutine

    conn = connection_from_argv()
    try:
        recipe = conn.recv()
    except EOFError:
        return
    run_coroutine(_serve(conn, recipe))


async def _serve(conn: Connection, recipe: HTTPRecipe) -> None:
    target = recipe.build()
    try:
        await target.start()
    except Exception as exc:  # reported to the parent, which raises it as one line
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    try:
        while True:
            kind, payload = conn.recv()  # idle between jobs: blocking the loop costs nothing
            if kind == "stop":
                return
            if kind == "clock":
                conn.send(("clock", time.perf_counter_ns()))
                continue
            try:
                report = await _run_job(target, payload)
            except Exception as exc:  # a bug, not a failed request (those are data): the parent says so
                report = Report(error=f"{type(exc).__name__}: {exc}", end_ns=time.perf_counter_ns())
            conn.send(("report", report))
    except (EOFError, OSError):  # the parent went away
        return
    finally:
        await target.stop()


def max_in_flight(completions: Sequence[Completion]) -> int:
    """The most requests in flight at once, from their start and end stamps."""
    events = sorted([(c.start_ns, 1) for c in completions] + [(c.end_ns, -1) for c in completions],
                    key=lambda e: (e[0], e[1]))
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


class ClientProcesses:
    """N spawned client workers for one target; ``async with`` starts them, leaving the block stops them."""

    def __init__(self, recipe: HTTPRecipe, processes: int) -> None:
        self.recipe, self.processes = recipe, processes
        self._workers: list[tuple[subprocess.Popen[bytes], Connection]] = []

    async def __aenter__(self) -> ClientProcesses:
        for _ in range(self.processes):
            process, conn = spawn_worker("mlx_benchmarks.measure.workers")
            self._workers.append((process, conn))
            conn.send(self.recipe)
        try:
            for _, conn in self._workers:
                kind, message = await receive(conn, START_TIMEOUT_S)
                if kind != "ready":
                    raise RuntimeError(f"a client worker process could not start: {message}")
        except (TimeoutError, EOFError) as exc:
            await self.__aexit__()
            raise RuntimeError(f"a client worker process did not start within {START_TIMEOUT_S:.0f} s") from exc
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        workers, self._workers = self._workers, []
        await asyncio.gather(*(stop_worker(process, conn) for process, conn in workers))

    async def clocks(self) -> list[int]:
        """Each worker's reading of the shared clock (for checking that it is shared)."""
        readings = []
        for _, conn in self._workers:
            conn.send(("clock", None))
            _, value = await receive(conn, START_TIMEOUT_S)
            readings.append(int(value))
        return readings

    async def _run(self, jobs: list[Job], n: int,
                   on_done: Callable[[Completion], None] | None) -> tuple[list[Completion], list[float], float, int]:
        for (_, conn), job in zip(self._workers, jobs, strict=False):
            conn.send(("job", job))
        reports: list[Report] = []
        for (_, conn), job in zip(self._workers, jobs, strict=False):
            try:
                _, report = await receive(conn, None)
            except (EOFError, OSError) as exc:
                report = Report(error=f"client worker process died: {exc or type(exc).__name__}")
            if report.error:  # its requests' fate is unknown: each is a failed request, the run goes on
                stamp = time.perf_counter_ns()
                report.done = [(index, Completion(start_ns=stamp, end_ns=stamp, error=report.error))
                               for index, _, _ in job.items]
            reports.append(report)
        slots: list[Completion | None] = [None] * n
        for report in reports:
            for index, completion in report.done:
                slots[index] = completion
        done = [c for c in slots if c is not None]
        if on_done is not None:
            for completion in done:  # progress moves when a level's round ends
                on_done(completion)
        lags = [lag for r in reports for lag in r.lags_ms]
        end = max([r.end_ns for r in reports if r.end_ns] or [time.perf_counter_ns()])
        return done, lags, sum(r.cpu_s for r in reports), end

    def _epoch(self) -> int:
        return time.perf_counter_ns() + int(EPOCH_LEAD_S * 1e9)

    async def run_load(self, make_request: Callable[[int], ChatRequest], *, n_requests: int, concurrency: int,
                       time_limit_s: float = 600.0,
                       on_done: Callable[[Completion], None] | None = None) -> LoadResult:
        """``measure.load.run_load`` over the workers: each runs its share of the concurrency."""
        if n_requests < 1 or concurrency < 1:
            raise ValueError("n_requests and concurrency must be at least 1")
        active = min(self.processes, concurrency)
        slots = [len(range(w, concurrency, active)) for w in range(active)]
        items: list[list[tuple[int, float, ChatRequest]]] = [[] for _ in range(active)]
        for index in range(n_requests):
            items[(index % concurrency) % active].append((index, 0.0, make_request(index)))
        epoch = self._epoch()
        jobs = [Job(items[w], epoch, time_limit_s, slots=slots[w]) for w in range(active) if items[w]]
        done, _, cpu, end = await self._run(jobs, n_requests, on_done)
        return LoadResult(done, (end - epoch) / 1e9, cpu, concurrency, timed_out=n_requests - len(done))

    async def run_rate(self, make_request: Callable[[int], ChatRequest], *, n_requests: int, rate: float,
                       arrival: str = "poisson", burstiness: float = 1.0, seed: int = 0,
                       max_concurrency: int | None = None, time_limit_s: float = 600.0,
                       on_done: Callable[[Completion], None] | None = None) -> RateLoadResult:
        """``measure.rate_load.run_rate`` over the workers: one schedule, request i to worker i mod N."""
        offsets = arrival_offsets(n_requests, rate, arrival=arrival, burstiness=burstiness, seed=seed)
        # with a cap, each worker holds its share of it (no worker may hold none)
        active = min(self.processes, n_requests, max_concurrency or n_requests)
        caps = [len(range(w, max_concurrency, active)) for w in range(active)] if max_concurrency else None
        items: list[list[tuple[int, float, ChatRequest]]] = [[] for _ in range(active)]
        for index, offset in enumerate(offsets):
            items[index % active].append((index, offset, make_request(index)))
        epoch = self._epoch()
        jobs = [Job(items[w], epoch, time_limit_s, max_concurrency=caps[w] if caps else None)
                for w in range(active)]
        done, lags, cpu, end = await self._run(jobs, n_requests, on_done)
        due = [offset for offset in offsets if offset <= time_limit_s]
        span = due[-1] if due else 0.0
        return RateLoadResult(done, (end - epoch) / 1e9, cpu, concurrency=max_in_flight(done),
                              timed_out=n_requests - len(done), offered_rate=rate,
                              realized_rate=(len(due) - 1) / span if span > 0 else None,
                              send_lag_ms_p50=percentile(lags, 50), send_lag_ms_p99=percentile(lags, 99),
                              send_lags_ms=lags)


async def ceilings_with(target: Target, processes: int, levels: Sequence[int], *, n_requests: int,
                        tokens: int = 32) -> dict[int, LoadSummary]:
    """What ``processes`` workers drive against a zero-delay server per concurrency (after a warm-up),
    as ``measure.load.ceiling`` measures one process."""
    recipe = recipe_for(target)
    if recipe is None:
        raise ValueError("client worker processes need an HTTP target")
    out: dict[int, LoadSummary] = {}
    request = calibration_request(tokens)

    def same(index: int) -> ChatRequest:
        return request

    async with ClientProcesses(recipe, processes) as pool:
        for level in levels:
            await pool.run_load(same, n_requests=level, concurrency=level, time_limit_s=30)
            result = await pool.run_load(same, n_requests=max(n_requests, 4 * level), concurrency=level,
                                         time_limit_s=60)
            out[level] = summarise(result)
    return out


if __name__ == "__main__":
    # run the imported module's copy, so what the worker pickles names mlx_benchmarks.measure.workers
    from mlx_benchmarks.measure import workers

    workers._worker_main()
