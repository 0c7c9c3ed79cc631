"""Load levels of the throughput suite: a closed-loop concurrency, or an offered request rate (open loop).

A level runs ``--trials`` rounds. Each round's first and last requests (or seconds) can be left out of its
figures (``--level-warmup`` / ``--level-cooldown``, as GuideLLM does); they are still sent, and counted in
the tags. Rates are the median over rounds, with the rounds' range and stddev beside them; latency
percentiles (``--percentiles``) pool every kept request of the level. With ``--slo``, each level also
reports the share of requests meeting every SLO and its goodput.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from mlx_benchmarks.envelope import Result
from mlx_benchmarks.measure.goodput import attainment, goodput, slo_text
from mlx_benchmarks.measure.load import ClientCheck, LoadResult, run_load, summarise, tpot_ms, trim
from mlx_benchmarks.measure.rate_load import RateLoadResult, run_rate
from mlx_benchmarks.measure.stats import label, percentile, spread_tags
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.measure.workers import ClientProcesses
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.failure_policy import level_counts, max_error_rate, no_result_line
from mlx_benchmarks.suites.memory_window import MemoryWindow
from mlx_benchmarks.suites.rate_options import RateOptions
from mlx_benchmarks.suites.speed_common import SpeedOptions, common_tags, rounded
from mlx_benchmarks.suites.speed_progress import SpeedProgress
from mlx_benchmarks.suites.workload import Workload, length_tags
from mlx_benchmarks.suites.workload_options import WorkloadOptions
from mlx_benchmarks.targets.base import ChatRequest

LATENCIES = ("ttft", "itl", "tpot", "e2e")
LEVEL_TIME_LIMIT_S = 600.0
SATURATED_BELOW = 0.9  # answers' pace / arrivals' pace under which the target is reported as not keeping up


def latency_samples(completions: Sequence[Completion]) -> dict[str, list[float]]:
    """Every latency sample of successful requests, per kind (ms)."""
    ok = [c for c in completions if c.ok]
    return {"ttft": [c.ttft_ms for c in ok if c.ttft_ms is not None],
            "itl": [x for c in ok for x in c.itl_ms()],
            "tpot": [t for c in ok if (t := tpot_ms(c)) is not None],
            "e2e": [c.duration_s * 1e3 for c in ok]}


@dataclass
class LevelReport:
    """What one level measured, for the results and for the sweep's knee."""

    label: str
    completions: list[Completion] = field(default_factory=list)  # every request sent
    kept: list[Completion] = field(default_factory=list)  # those inside the warm-up / cool-down window
    rounds: list[LoadResult] = field(default_factory=list)  # trimmed rounds that had a success
    requests_per_s: float | None = None
    attainment: float | None = None  # share meeting every SLO
    offered: float | None = None  # open loop: what the schedules offered (req/s)
    answer_pace: float | None = None  # open loop: the slowest round's pace of answers (req/s)
    send_lag_ms_p99: float | None = None
    keeps_up: bool | None = None
    paces: list[tuple[float, float]] = field(default_factory=list)  # (arrivals' pace, answers' pace) per round


@dataclass
class Levels:
    """Runs load levels against one target with the run's workload and options, and records their results."""

    ctx: RunContext
    opts: SpeedOptions
    workload: Workload
    wopts: WorkloadOptions
    check: ClientCheck | None
    outcome: SuiteOutcome
    progress: SpeedProgress
    clients: ClientProcesses | None = None  # --client-processes N: the levels' load comes from N workers

    def extra_requests(self) -> int:
        """Requests a level adds per round so that its trimmed window still holds what was asked for."""
        return sum(int(t.amount) for t in (self.wopts.level_warmup, self.wopts.level_cooldown) if t.unit == "requests")

    def maker(self, label: str, trial: int) -> Callable[[int], ChatRequest]:
        return lambda index: self.workload.request(f"{label}/{trial}", index).request

    def trimmed(self, load: LoadResult) -> LoadResult:
        warm, cool = self.wopts.level_warmup, self.wopts.level_cooldown
        return trim(load, first=warm.amount, last=cool.amount, unit=warm.unit if warm else cool.unit)

    async def concurrency(self, level: int, name: str | None = None, requests: int | None = None) -> LevelReport:
        """A closed loop of ``level`` workers (``requests`` a round; by default two per worker, so the level
        is held, not just touched)."""
        label = name or f"concurrency_{level}"
        per_round = (requests or 2 * level) + self.extra_requests()
        self.progress.stage(label)
        report = LevelReport(label)
        memory, started = MemoryWindow.open(self.ctx), time.perf_counter()  # MLX's peak per level
        for trial in range(self.opts.trials):
            if self.clients is not None:
                load = await self.clients.run_load(self.maker(label, trial), n_requests=per_round, concurrency=level,
                                                   time_limit_s=LEVEL_TIME_LIMIT_S, on_done=self.progress.record)
            else:
                load = await run_load(self.ctx.target, self.maker(label, trial), n_requests=per_round,
                                      concurrency=level, time_limit_s=LEVEL_TIME_LIMIT_S,
                                      on_done=self.progress.record)
            self.ctx.cold = False
            self._round(report, load, trial, {"concurrency": level})
        tags = {**common_tags(self.ctx, self.check, self.workload.prompts, level), "concurrency": level,
                "requests_per_trial": per_round}
        self._results(report, tags, memory, started, concurrency=level)
        return report

    async def rate(self, rate: float, rates: RateOptions, name: str | None = None) -> LevelReport:
        """One offered rate: ``--trials`` rounds on seeded schedules; results named ``rate_<R>_...``."""
        label = name or f"rate_{rate:g}"
        arrival = rates.arrival
        n = rates.requests_at(rate) + self.extra_requests()
        self.progress.stage(label)
        report = LevelReport(label, offered=rate)
        memory, started = MemoryWindow.open(self.ctx), time.perf_counter()  # MLX's peak per level
        lags: list[float] = []
        peaks: list[int] = []
        paces = report.paces
        not_sent = 0
        for trial in range(self.opts.trials):
            send_rate = self.clients.run_rate if self.clients is not None else partial(run_rate, self.ctx.target)
            load = await send_rate(self.maker(label, trial), n_requests=n, rate=rate, arrival=arrival,
                                   burstiness=rates.burstiness, seed=self.ctx.seed * 1000 + trial,
                                   max_concurrency=rates.max_concurrency, time_limit_s=LEVEL_TIME_LIMIT_S,
                                   on_done=self.progress.record)
            self.ctx.cold = False
            self._round(report, load, trial, {"request_rate": rate})
            if load.send_lag_ms_p99 is not None:
                lags.append(load.send_lag_ms_p99)
            peaks.append(load.max_in_flight)
            not_sent += load.timed_out
            window = self.trimmed(load)
            pace = window.completion_rate if isinstance(window, RateLoadResult) else None
            if load.realized_rate is not None and pace is not None:
                paces.append((load.realized_rate, pace))
        if not_sent:
            self.outcome.errors.append(f"{label}: {not_sent} requests were due after the "
                                       f"{LEVEL_TIME_LIMIT_S:.0f} s limit and were not sent")
            self.outcome.partial = True
        report.send_lag_ms_p99 = max(lags) if lags else None
        report.keeps_up = all(done >= SATURATED_BELOW * offered for offered, done in paces) if paces else None
        report.answer_pace = min(done for _, done in paces) if paces else None
        tags = {**common_tags(self.ctx, self.check, self.workload.prompts, rates.max_concurrency or 1),
                "request_rate": rate, "arrival": arrival, "burstiness": rates.burstiness, "requests_per_trial": n,
                "max_concurrency": rates.max_concurrency or "none", "max_in_flight": max(peaks),
                "send_lag_ms_p99": round(max(lags), 3) if lags else "unknown",
                "keeps_up": "unknown" if report.keeps_up is None else report.keeps_up,
                "answer_pace_per_sec": "unknown" if report.answer_pace is None else round(report.answer_pace, 3),
                "requests_not_sent": not_sent}  # due after the level's time limit
        self._results(report, tags, memory, started)
        return report

    def _round(self, report: LevelReport, load: LoadResult, trial: int, where: dict[str, object]) -> None:
        kept = self.trimmed(load)
        report.completions.extend(load.completions)
        report.kept.extend(kept.completions)
        if kept.ok:
            report.rounds.append(kept)
        inside = {id(c) for c in kept.completions}
        ordered = sorted(load.completions, key=lambda c: c.start_ns)
        self.outcome.samples.extend(
            {"key": f"{report.label}/trial{trial}/req{i}", "result": report.label, "trial": trial, **where,
             "error": c.error, "ttft_ms": rounded(c.ttft_ms), "e2e_ms": round(c.duration_s * 1e3, 4),
             "excluded": id(c) not in inside}
            for i, c in enumerate(ordered))

    def _results(self, report: LevelReport, tags: dict[str, object], memory: MemoryWindow, started: float,
                 concurrency: int | None = None) -> None:
        if not report.rounds:  # said, never silently missing (suites.failure_policy)
            self.outcome.errors.append(no_result_line(report.label, report.completions))
            self.outcome.partial = True
            return
        summaries = [summarise(r) for r in report.rounds]
        slo = self.wopts.slo
        level_tags: dict[str, object] = {
            **tags, **self.workload.tags(), **length_tags(report.kept), "trials": len(report.rounds),
            "prompt_tokens_requested": self.workload.length if self.workload.random else "dataset",
            "gen_tokens_requested": self.workload.gen if self.workload.random else "dataset",
            "token_count_source": summaries[0].token_count_source,
            "level_warmup": str(self.wopts.level_warmup), "level_cooldown": str(self.wopts.level_cooldown),
            "requests_excluded": len(report.completions) - len(report.kept),
            **level_counts(report.completions, report.kept).tags(max_error_rate(self.ctx.options.get("max_error_rate")))}
        if slo:
            level_tags["slo"] = slo_text(slo)
        peak = rounded(self.ctx.memory.peak_rss_mb(since=memory.mark), 1)
        level_tags.update(memory.tags())
        duration = round(time.perf_counter() - started, 4)
        rates = [("output_tok_per_sec", "throughput", "tok/s", [s.output_tps for s in summaries]),
                 ("requests_per_sec", "throughput", "req/s", [s.requests_per_s for s in summaries])]
        if slo:
            rates.append(("goodput_req_per_sec", "goodput", "req/s", [goodput(r, slo) for r in report.rounds]))
        for name, metric, unit, values in rates:
            value = percentile(values, 50)
            assert value is not None
            result = Result(name=f"{report.label}_{name}", metric=metric, value=round(value, 4), unit=unit,
                            duration_seconds=duration, peak_rss_mb=peak, raw={"trials": [round(v, 4) for v in values]})
            if name == "output_tok_per_sec":
                result.decode_tokens_per_second = round(value, 4)
                if concurrency is not None:
                    result.tag(near_client_ceiling=self.check.near_ceiling(value, concurrency)
                               if self.check else "unknown")
            if name == "requests_per_sec":
                report.requests_per_s = value
            self.outcome.results.append(result.tag(**level_tags, **spread_tags(values, values)))
        if slo:
            report.attainment = attainment(report.kept, slo)
            per_round = [attainment(r.completions, slo) or 0.0 for r in report.rounds]
            result = Result(name=f"{report.label}_slo_attainment", metric="goodput",
                            value=round(report.attainment or 0.0, 4), unit="ratio", duration_seconds=duration,
                            peak_rss_mb=peak, raw={"trials": [round(v, 4) for v in per_round]})
            self.outcome.results.append(result.tag(**level_tags, **spread_tags(per_round, per_round)))
        pooled = latency_samples(report.kept)
        per_round_samples = [latency_samples(r.completions) for r in report.rounds]
        for latency in LATENCIES:
            for q in self.wopts.percentiles:
                value = percentile(pooled[latency], q)
                if value is None:
                    continue
                trials = [v for s in per_round_samples if (v := percentile(s[latency], q)) is not None]
                result = Result(name=f"{report.label}_{latency}_{label(q)}_ms", metric="latency",
                                value=round(value, 4), unit="ms", duration_seconds=duration, peak_rss_mb=peak,
                                raw={"trials": [round(t, 4) for t in trials]})
                self.outcome.results.append(result.tag(**level_tags, percentile=label(q),
                                                       **spread_tags(pooled[latency], trials)))
