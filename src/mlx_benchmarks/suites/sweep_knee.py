"""``--sweep``: find the saturation point (GuideLLM's sweep profile, with the knee reported for you).

1. one request at a time (a closed loop of 1, 8 requests a round): the rate a lone user gets, ``sweep_sync``;
2. the maximum: a closed loop of ``--max-concurrency`` (default 32) workers, ``sweep_max``;
3. ``--sweep-rates`` N offered rates (open loop; constant arrivals unless ``--arrival``, since a few Poisson
   draws at a slow rate are too uneven to judge by) evenly spaced above the first up to the second,
   ``sweep_rate_<R>``; when the maximum is not 10% above the first (a server that serves one request at a
   time, or prompts of unequal cost), they start from half the lower of the two instead;
4. the knee: the highest offered rate the target keeps up with, every round's answers coming at >= 95% of
   the pace requests arrived at while the client sent on time (send lag p99 within 100 ms, or within a
   quarter of the mean gap between arrivals when that is larger), as
   ``sweep_max_sustainable_rps`` (when no rate of the grid is sustained, up to three more are tried, each 20%
   under the lowest so far); with ``--slo``, the highest such rate at which >= 95% of requests met every
   SLO, as ``sweep_max_rps_within_slo``. No rate qualifying gives 0 and ``found: false``.
"""

from __future__ import annotations

import time
from dataclasses import replace

from mlx_benchmarks.envelope import Result
from mlx_benchmarks.measure.goodput import slo_text
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.load_levels import LevelReport, Levels
from mlx_benchmarks.suites.rate_options import RateOptions
from mlx_benchmarks.suites.speed_common import SpeedOptions, common_tags

KEEPS_UP = 0.95  # answers' pace / arrivals' pace at or above which a rate is sustained
SLO_SHARE = 0.95  # share of requests meeting every SLO for a rate to count as within them
MAX_SEND_LAG_MS = 100.0  # a client later than this against its schedule did not really offer the rate...
LAG_SHARE_OF_GAP = 0.25  # ...unless it is small beside the gaps between arrivals (slow rates)
DEFAULT_SWEEP_CONCURRENCY = 32
STEPS_BELOW, STEP_DOWN = 3, 0.8  # extra rates, each 20% under the lowest, when none of the grid is sustained
SYNC_REQUESTS = 8  # per round of the one-at-a-time stage: enough of a prompt mix to set the lower rate


def sweep_concurrency(rates: RateOptions) -> int:
    return rates.max_concurrency or DEFAULT_SWEEP_CONCURRENCY


def sweep_planned(opts: SpeedOptions, rates: RateOptions, extra: int) -> int:
    """Requests of the sweep's first two stages (its rates are known only after them)."""
    return opts.trials * (SYNC_REQUESTS + extra) + opts.trials * (2 * sweep_concurrency(rates) + extra)


def sweep_rates(sync: float, top: float, n: int) -> list[float]:
    """``n`` rates evenly spaced above ``sync`` up to ``top`` (from half the lower when top is not 10% above)."""
    low, high = min(sync, top), max(sync, top)
    if top < 1.1 * sync:  # concurrency bought nothing, or the stages' prompts differed: look below both too
        low = low / 2
    step = (high - low) / n
    return [low + step * i for i in range(1, n + 1)]


def sustained(report: LevelReport) -> bool:
    """Every round's answers kept (nearly) the arrivals' pace, and the client sent on time."""
    bound = max(MAX_SEND_LAG_MS, LAG_SHARE_OF_GAP * 1e3 / report.offered) if report.offered else MAX_SEND_LAG_MS
    lag_ok = report.send_lag_ms_p99 is not None and report.send_lag_ms_p99 <= bound
    return bool(report.paces) and lag_ok and all(done >= KEEPS_UP * offered for offered, done in report.paces)


async def sweep(levels: Levels, rates: RateOptions) -> list[Completion]:
    """Run the sweep's stages and record the knee (``sweep_*`` results)."""
    started = time.perf_counter()
    rates = replace(rates, arrival=rates.sweep_arrival)
    sync = await levels.concurrency(1, name="sweep_sync", requests=SYNC_REQUESTS)
    top = await levels.concurrency(sweep_concurrency(rates), name="sweep_max")
    sent = [*sync.completions, *top.completions]
    if not sync.requests_per_s or not top.requests_per_s:
        levels.outcome.errors.append("sweep: the one-at-a-time or the maximum stage measured nothing; no knee")
        levels.outcome.partial = True
        return sent
    offered = sweep_rates(sync.requests_per_s, top.requests_per_s, levels.wopts.sweep_rates)
    levels.progress.stage("sweep", more_planned=sum(levels.opts.trials * (rates.requests_at(r)
                                                                            + levels.extra_requests())
                                                    for r in offered))
    reports: list[LevelReport] = []

    async def offer(rate: float) -> None:
        rate = float(f"{rate:.3g}")  # three significant figures, however slow the target
        report = await levels.rate(rate, rates, name=f"sweep_rate_{rate:g}")
        reports.append(report)
        sent.extend(report.completions)

    for rate in offered:
        await offer(rate)
    for _ in range(STEPS_BELOW):  # the knee lies below every rate tried: step down until one is sustained
        if any(sustained(r) for r in reports):
            break
        lowest = min(r.offered or 0.0 for r in reports)
        levels.progress.stage("sweep", more_planned=levels.opts.trials * (rates.requests_at(lowest * STEP_DOWN)
                                                                         + levels.extra_requests()))
        await offer(lowest * STEP_DOWN)
    kept_up = [r for r in reports if sustained(r)]
    tags: dict[str, object] = {
        **common_tags(levels.ctx, levels.check, levels.workload.prompts), **levels.workload.tags(),
        "sync_rps": round(sync.requests_per_s, 4), "max_throughput_rps": round(top.requests_per_s, 4),
        "max_throughput_concurrency": sweep_concurrency(rates), "rates_tried": ",".join(f"{r.offered:.3g}" for r in reports),
        "arrival": rates.arrival, "keeps_up_at": KEEPS_UP, "max_send_lag_ms": MAX_SEND_LAG_MS,
        "sustained_rates": ",".join(f"{r.offered:.3g}" for r in kept_up) or "none"}
    duration = round(time.perf_counter() - started, 4)
    best = max((r.offered or 0.0 for r in kept_up), default=0.0)
    levels.outcome.results.append(Result(
        name="sweep_max_sustainable_rps", metric="throughput", value=round(best, 4), unit="req/s",
        duration_seconds=duration, raw={"offered": [r.offered for r in reports],
                                        "answer_pace": [r.answer_pace for r in reports],
                                        "send_lag_ms_p99": [r.send_lag_ms_p99 for r in reports]},
    ).tag(**tags, found=bool(kept_up),
          definition=f"highest offered rate whose answers kept >= {KEEPS_UP:.0%} of the arrivals' pace"))
    slo = levels.wopts.slo
    if slo:
        within = [r for r in kept_up if r.attainment is not None and r.attainment >= SLO_SHARE]
        levels.outcome.results.append(Result(
            name="sweep_max_rps_within_slo", metric="goodput", value=round(max((r.offered or 0.0 for r in within),
                                                                                default=0.0), 4),
            unit="req/s", duration_seconds=duration,
            raw={"offered": [r.offered for r in reports], "attainment": [r.attainment for r in reports]},
        ).tag(**tags, found=bool(within), slo=slo_text(slo), slo_share=SLO_SHARE,
              definition=f"highest sustained rate at which >= {SLO_SHARE:.0%} of requests met every SLO"))
    return sent
