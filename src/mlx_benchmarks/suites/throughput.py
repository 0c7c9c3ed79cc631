"""``throughput``: decode tokens/s over a grid of prompt lengths x generated tokens, and a concurrency sweep.

Each cell runs its warm-up requests, then ``--trials`` measured ones, one at a time, every prompt unique. The
cell's result is the median decode tok/s; ``raw.trials`` keeps each trial's value so comparisons can
bootstrap. ``--concurrency 1,2,4,8`` adds, per level, aggregate output tok/s, requests/s and TTFT / ITL /
TPOT / end-to-end percentiles, from ``measure.load``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import Any

from mlx_benchmarks.envelope import GenKwargs, Result
from mlx_benchmarks.measure.load import ClientCheck, LoadSummary, error_lines, run_load, summarise
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.load_levels import RateOptions, add_rate_arguments, rate_level, summarise_pooled
from mlx_benchmarks.suites.server_log_check import CellLog
from mlx_benchmarks.suites.speed_common import (
    PromptMaker,
    SpeedOptions,
    SpeedSuiteBase,
    TrialMetrics,
    common_tags,
    count_tag,
    measure_client,
    median_of,
    rounded,
    salt_for,
    speed_request,
    timed,
)

SWEEP_TIME_LIMIT_S = 600.0


class ThroughputSuite(SpeedSuiteBase):
    """Decode speed per prompt length (and optionally per concurrency level)."""

    name = "throughput"
    description = "decode tok/s over prompt lengths x generated tokens; optional concurrency sweep"
    trials, warmup, gen_tokens = 3, 1, "128"
    min_gen_tokens = 2  # decode speed is timed between the first and the last token

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--concurrency", default=None, metavar="N,N,...",
                            help="also sweep these numbers of requests in flight (e.g. 1,2,4,8)")
        add_rate_arguments(parser)

    def validate_options(self, options: Mapping[str, Any]) -> None:
        super().validate_options(options)
        RateOptions.parse(options)

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        opts = self.options(ctx.options)
        rates = RateOptions.parse(ctx.options)
        outcome = SuiteOutcome(gen_kwargs=GenKwargs(max_gen_toks=max(opts.gen_tokens), temperature=0.0))
        check, notes = await measure_client(ctx, opts)
        outcome.errors.extend(notes)
        prompts = PromptMaker(ctx)
        calibration_errors = await prompts.calibrate(max(opts.prompt_lengths))
        sent: list[Completion] = []
        for length in opts.prompt_lengths:
            for gen in opts.gen_tokens:
                name = f"tok_per_sec_{length}" + (f"_g{gen}" if len(opts.gen_tokens) > 1 else "")
                result, completions = await self._cell(ctx, opts, prompts, check, name, length, gen, outcome)
                sent.extend(completions)
                if result is not None:
                    outcome.results.append(result)
                else:
                    reasons = [str(s["error"]) for s in outcome.samples if s["result"] == name and s["error"]]
                    outcome.errors.append(f"{name}: no trial could be timed" + (f" ({reasons[0]})" if reasons else ""))
                    outcome.partial = True
        for level in opts.concurrency:
            sent.extend(await self._sweep_level(ctx, opts, prompts, check, level, outcome))
        for rate in rates.rates:
            tags = common_tags(ctx, check, prompts, rates.max_concurrency or 1)
            sent.extend(await rate_level(ctx, opts, rates, prompts, rate, tags, outcome))
        outcome.errors[:0] = error_lines(sent)
        outcome.partial = outcome.partial or any(not c.ok for c in sent)
        if calibration_errors and prompts.source == "words-estimate":
            outcome.errors.append(f"prompt length calibration: {calibration_errors[0]}; "
                                  "prompt lengths are word counts, not tokens")
        return outcome

    async def _cell(self, ctx: RunContext, opts: SpeedOptions, prompts: PromptMaker, check: ClientCheck | None,
                    name: str, length: int, gen: int, outcome: SuiteOutcome) -> tuple[Result | None, list[Completion]]:
        mark = ctx.memory.mark()
        cell_log = CellLog.start(ctx)
        started = time.perf_counter()
        completions: list[Completion] = []
        trials: list[TrialMetrics] = []
        timed_indexes: list[int] = []
        for index in range(opts.warmup + opts.trials):
            salt = salt_for(ctx, name, index)
            completion = await timed(ctx, speed_request(prompts.messages(length, salt), gen, ctx.seed))
            prompts.observe(length, completion)
            completions.append(completion)
            if index < opts.warmup:
                continue
            trial = index - opts.warmup
            record: dict[str, Any] = {"key": f"{name}/trial{trial}", "result": name, "trial": trial,
                                      "prompt_tokens_requested": length, "gen_tokens_requested": gen,
                                      "error": completion.error}
            if completion.ok:
                metrics = TrialMetrics.of(completion, length)
                record.update(metrics.record())
                if metrics.decode_tps is not None:
                    trials.append(metrics)
                    timed_indexes.append(index)
                else:  # fewer than 2 tokens, or every token in one network read: no decode interval to time
                    record["error"] = (f"decode time not measurable ({metrics.output_tokens} tokens, "
                                       f"{completion.streamed_events} events in {len(set(completion.token_times_ns))} reads)")
            outcome.samples.append(record)
        if not trials:
            return None, completions
        value = median_of(trials, "decode_tps")
        assert value is not None
        result = Result(
            name=name, metric="throughput", value=round(value, 4), unit="tok/s",
            duration_seconds=round(time.perf_counter() - started, 4),
            prompt_tokens_per_second=rounded(median_of(trials, "prompt_tps")),
            decode_tokens_per_second=round(value, 4),
            total_tokens_per_second=rounded(median_of(trials, "total_tps")),
            first_token_latency_ms=rounded(median_of(trials, "ttft_ms")),
            peak_rss_mb=rounded(ctx.memory.peak_rss_mb(since=mark), 1),
            raw={"trials": [round(t.decode_tps or 0.0, 4) for t in trials],
                 "ttft_ms": [round(t.ttft_ms, 4) for t in trials],
                 "prompt_tokens": [t.prompt_tokens for t in trials],
                 "output_tokens": [t.output_tokens for t in trials]},
        )
        result.tag(**common_tags(ctx, check, prompts))
        server_tps = median_of(trials, "server_decode_tps")
        result.tag(
            token_count_source=trials[0].token_source,
            prompt_tokens=count_tag(median_of(trials, "prompt_tokens")),
            prompt_tokens_requested=length,
            prompt_tokens_cached=count_tag(median_of(trials, "cached_prompt_tokens")),
            output_tokens=count_tag(median_of(trials, "output_tokens")),
            gen_tokens_requested=gen,
            trials=len(trials),
            warmup=opts.warmup,
            server_decode_tok_per_sec=round(server_tps, 3) if server_tps is not None else "not reported",
            near_client_ceiling=check.near_ceiling(value) if check else "unknown",
        )
        if server_tps:  # the target's own statistic: llama.cpp's timings, mlx-lm's generation_tps in process
            result.tag(server_decode_diff_pct=round((value - server_tps) / server_tps * 100, 2))
        if cell_log is not None:
            result.tag(**cell_log.tags(completions, timed_indexes, value))
        return result, completions

    async def _sweep_level(self, ctx: RunContext, opts: SpeedOptions, prompts: PromptMaker,
                           check: ClientCheck | None, level: int, outcome: SuiteOutcome) -> list[Completion]:
        length, gen = opts.prompt_lengths[0], opts.gen_tokens[0]
        mark = ctx.memory.mark()
        started = time.perf_counter()
        rounds: list[LoadSummary] = []
        completions: list[Completion] = []
        per_round = 2 * level  # every worker sends at least two requests, so the level is held, not just touched
        for trial in range(opts.trials):
            def make(index: int, trial: int = trial) -> Any:
                return speed_request(prompts.messages(length, salt_for(ctx, "sweep", level, trial, index)),
                                     gen, ctx.seed)

            load = await run_load(ctx.target, make, n_requests=per_round, concurrency=level,
                                  time_limit_s=SWEEP_TIME_LIMIT_S)
            ctx.cold = False
            completions.extend(load.completions)
            if load.ok:
                rounds.append(summarise(load))
            outcome.samples.extend(
                {"key": f"concurrency_{level}/trial{trial}/req{i}", "result": f"concurrency_{level}",
                 "trial": trial, "concurrency": level, "error": c.error, "ttft_ms": rounded(c.ttft_ms),
                 "e2e_ms": round(c.duration_s * 1e3, 4)}
                for i, c in enumerate(load.completions))
        if not rounds:
            return completions
        ok = [c for c in completions if c.ok]
        pooled = summarise_pooled(ok, rounds)
        tags = {**common_tags(ctx, check, prompts, level), "concurrency": level, "prompt_tokens_requested": length,
                "gen_tokens_requested": gen, "trials": len(rounds), "requests_per_trial": per_round,
                "token_count_source": rounds[0].token_count_source}
        peak = rounded(ctx.memory.peak_rss_mb(since=mark), 1)
        duration = round(time.perf_counter() - started, 4)
        for name, metric, unit, value, trials in pooled:
            result = Result(name=f"concurrency_{level}_{name}", metric=metric, value=round(value, 4), unit=unit,
                            duration_seconds=duration, peak_rss_mb=peak, raw={"trials": trials})
            if name == "output_tok_per_sec":
                result.decode_tokens_per_second = round(value, 4)
                result.tag(near_client_ceiling=check.near_ceiling(value, level) if check else "unknown")
            outcome.results.append(result.tag(**tags))
        return completions
