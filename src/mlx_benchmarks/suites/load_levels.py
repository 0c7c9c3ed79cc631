"""Load levels of the throughput suite: pooled figures per level, and the open-loop ``--request-rate`` sweep.

A level (a concurrency, or an offered request rate) runs ``--trials`` rounds; rates are the median over
rounds, latency percentiles pool every request of the level.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlx_benchmarks.envelope import Result
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.load import LoadSummary, summarise, tpot_ms
from mlx_benchmarks.measure.rate_load import ARRIVALS, run_rate
from mlx_benchmarks.measure.stats import percentile
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.speed_common import (
    PromptMaker,
    SpeedOptions,
    parse_int,
    rounded,
    salt_for,
    speed_request,
)

LATENCIES = ("ttft", "itl", "tpot", "e2e")
PERCENTILES = (50, 90, 99)
RATE_TIME_LIMIT_S = 600.0
SATURATED_BELOW = 0.9  # answers' pace / arrivals' pace under which the target is reported as not keeping up


def add_rate_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("open-loop load (as vllm bench serve --request-rate)")
    group.add_argument("--request-rate", default=None, metavar="R,R,...",
                       help="also offer these request rates (requests/s), arrivals on a seeded schedule")
    group.add_argument("--arrival", default="poisson", choices=ARRIVALS,
                       help="gaps between arrivals: poisson (default), gamma (shape --burstiness) or constant")
    group.add_argument("--burstiness", default=1.0, help="gamma shape: below 1 burstier, above 1 steadier")
    group.add_argument("--rate-requests", default=None, metavar="N",
                       help="requests per round at each rate (default: 10 seconds' worth, 8 to 200)")
    group.add_argument("--max-concurrency", default=None, metavar="N",
                       help="cap on requests in flight under --request-rate (default: none)")


@dataclass(frozen=True)
class RateOptions:
    rates: list[float]
    arrival: str
    burstiness: float
    requests: int | None
    max_concurrency: int | None

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> RateOptions:
        raw = options.get("request_rate")
        rates = [_positive(item, "--request-rate") for item in str(raw).split(",")] if raw else []
        arrival = str(options.get("arrival") or "poisson")
        if arrival not in ARRIVALS:
            raise UsageError(f"--arrival: {arrival!r} is not one of {', '.join(ARRIVALS)}")
        requests, cap = options.get("rate_requests"), options.get("max_concurrency")
        burstiness = _positive(options.get("burstiness") or 1.0, "--burstiness")
        if burstiness != 1.0 and arrival != "gamma":
            raise UsageError(f"--burstiness applies to --arrival gamma (a {arrival} schedule has no shape)")
        if not rates:
            given = [flag for flag, set_ in (("--rate-requests", requests is not None),
                                             ("--max-concurrency", cap is not None),
                                             ("--arrival", arrival != "poisson"), ("--burstiness", burstiness != 1.0))
                     if set_]
            if given:
                raise UsageError(f"{given[0]} needs --request-rate (it shapes the open-loop load only)")
        return cls(rates=rates, arrival=arrival, burstiness=burstiness,
                   requests=None if requests is None else parse_int(requests, "--rate-requests", minimum=1,
                                                                      maximum=100000),
                   max_concurrency=None if cap is None else parse_int(cap, "--max-concurrency", minimum=1,
                                                                      maximum=100000))

    def requests_at(self, rate: float) -> int:
        return self.requests or max(8, min(200, round(rate * 10)))


def _positive(value: object, flag: str) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise UsageError(f"{flag}: {str(value).strip()!r} is not a number") from None
    if not number > 0 or number == float("inf"):
        raise UsageError(f"{flag}: {number:g} must be a positive, finite number")
    return number


async def rate_level(ctx: RunContext, opts: SpeedOptions, rates: RateOptions, prompts: PromptMaker, rate: float,
                     tags: dict[str, object], outcome: SuiteOutcome) -> list[Completion]:
    """One offered rate: ``--trials`` rounds on a seeded schedule; results named ``rate_<R>_...``."""
    length, gen = opts.prompt_lengths[0], opts.gen_tokens[0]
    label = f"rate_{rate:g}"
    mark = ctx.memory.mark()
    started = time.perf_counter()
    n = rates.requests_at(rate)
    rounds: list[LoadSummary] = []
    completions: list[Completion] = []
    lags: list[float] = []
    peaks: list[int] = []
    paces: list[tuple[float, float]] = []  # (arrivals' pace, answers' pace) per round
    not_sent = 0
    for trial in range(opts.trials):
        def make(index: int, trial: int = trial) -> Any:
            return speed_request(prompts.messages(length, salt_for(ctx, label, trial, index)), gen, ctx.seed)

        load = await run_rate(ctx.target, make, n_requests=n, rate=rate, arrival=rates.arrival,
                              burstiness=rates.burstiness, seed=ctx.seed * 1000 + trial,
                              max_concurrency=rates.max_concurrency, time_limit_s=RATE_TIME_LIMIT_S)
        ctx.cold = False
        completions.extend(load.completions)
        if load.ok:
            rounds.append(summarise(load))
        if load.send_lag_ms_p99 is not None:
            lags.append(load.send_lag_ms_p99)
        peaks.append(load.max_in_flight)
        not_sent += load.timed_out
        if load.realized_rate is not None and load.completion_rate is not None:
            paces.append((load.realized_rate, load.completion_rate))
        outcome.samples.extend(
            {"key": f"{label}/trial{trial}/req{i}", "result": label, "trial": trial, "request_rate": rate,
             "error": c.error, "ttft_ms": rounded(c.ttft_ms), "e2e_ms": round(c.duration_s * 1e3, 4)}
            for i, c in enumerate(load.completions))
    if not_sent:
        outcome.errors.append(f"{label}: {not_sent} requests were due after the {RATE_TIME_LIMIT_S:.0f} s limit "
                              "and were not sent")
        outcome.partial = True
    if not rounds:
        return completions
    level_tags = {**tags, "request_rate": rate, "arrival": rates.arrival, "burstiness": rates.burstiness,
                  "prompt_tokens_requested": length, "gen_tokens_requested": gen, "trials": len(rounds),
                  "requests_per_trial": n, "max_concurrency": rates.max_concurrency or "none",
                  "max_in_flight": max(peaks), "send_lag_ms_p99": round(max(lags), 3) if lags else "unknown",
                  "keeps_up": all(done >= SATURATED_BELOW * offered for offered, done in paces) if paces else "unknown",
                  "answer_pace_per_sec": round(min(done for _, done in paces), 3) if paces else "unknown",
                  "token_count_source": rounds[0].token_count_source,
                  "requests_not_sent": not_sent}  # due after the level's time limit
    peak = rounded(ctx.memory.peak_rss_mb(since=mark), 1)
    duration = round(time.perf_counter() - started, 4)
    for name, metric, unit, value, trials in summarise_pooled([c for c in completions if c.ok], rounds):
        result = Result(name=f"{label}_{name}", metric=metric, value=round(value, 4), unit=unit,
                        duration_seconds=duration, peak_rss_mb=peak, raw={"trials": trials})
        if name == "output_tok_per_sec":
            result.decode_tokens_per_second = round(value, 4)
        outcome.results.append(result.tag(**level_tags))
    return completions


def summarise_pooled(ok: list[Completion], rounds: list[LoadSummary]) -> list[tuple[str, str, str, float, list[float]]]:
    """(name, metric, unit, value, per-trial values): aggregate rates (median of trials) and pooled percentiles."""
    def med(values: list[float]) -> float:
        result = percentile(values, 50)
        assert result is not None
        return result

    out: list[tuple[str, str, str, float, list[float]]] = [
        ("output_tok_per_sec", "throughput", "tok/s", med([r.output_tps for r in rounds]),
         [round(r.output_tps, 4) for r in rounds]),
        ("requests_per_sec", "throughput", "req/s", med([r.requests_per_s for r in rounds]),
         [round(r.requests_per_s, 4) for r in rounds]),
    ]
    samples = {
        "ttft": [c.ttft_ms for c in ok if c.ttft_ms is not None],
        "itl": [x for c in ok for x in c.itl_ms()],
        "tpot": [t for c in ok if (t := tpot_ms(c)) is not None],
        "e2e": [c.duration_s * 1e3 for c in ok],
    }
    per_round = {"ttft": "ttft_ms", "itl": "itl_ms", "tpot": "tpot_ms", "e2e": "e2e_ms"}
    for latency in LATENCIES:
        for q in PERCENTILES:
            value = percentile(samples[latency], q)
            if value is None:
                continue
            trials = [round(getattr(r, per_round[latency])[f"p{q}"], 4) for r in rounds
                      if f"p{q}" in getattr(r, per_round[latency])]
            out.append((f"{latency}_p{q}_ms", "latency", "ms", value, trials))
    return out
