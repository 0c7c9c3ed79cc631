"""``throughput``: decode tokens/s over a grid of prompt lengths x generated tokens, and load levels.

Each cell runs its warm-up requests, then ``--trials`` measured ones, one at a time, every prompt unique. The
cell's result is the median decode tok/s; ``raw.trials`` keeps each trial's value so comparisons can
bootstrap. ``--dataset`` replaces the grid by one pass over real prompts (``tok_per_sec_dataset``) and feeds
every load level from them. ``--concurrency 1,2,4,8`` and ``--request-rate`` add load levels
(``suites.load_levels``); ``--shared-prefix`` and ``--turns`` time the target's prefix cache
(``suites.prefix_workloads``); ``--sweep`` finds the saturation point (``suites.sweep_knee``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any

from mlx_benchmarks.datasets.prompts import load_prompt_set
from mlx_benchmarks.envelope import GenKwargs, Result
from mlx_benchmarks.measure.load import ClientCheck
from mlx_benchmarks.measure.stats import label, percentile, spread_tags
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.failure_policy import FailureWatch, RequestCounts, count_lines, max_error_rate
from mlx_benchmarks.suites.load_levels import LevelReport, Levels
from mlx_benchmarks.suites.memory_window import MemoryWindow, windowed
from mlx_benchmarks.suites.prefix_workloads import shared_prefix, turns
from mlx_benchmarks.suites.rate_options import RateOptions, add_rate_arguments
from mlx_benchmarks.suites.server_log_check import CellLog
from mlx_benchmarks.suites.speed_common import (
    PromptMaker,
    SpeedOptions,
    SpeedSuiteBase,
    TrialMetrics,
    client_processes,
    common_tags,
    count_tag,
    measure_client,
    median_of,
    rounded,
    salt_for,
    speed_request,
    timed,
)
from mlx_benchmarks.suites.speed_progress import SpeedProgress
from mlx_benchmarks.suites.sweep_knee import sweep, sweep_planned
from mlx_benchmarks.suites.workload import Planned, Workload, length_tags
from mlx_benchmarks.suites.workload_options import WorkloadOptions, add_workload_arguments


def _split(report: LevelReport, measured: list[Completion], warm: list[Completion]) -> None:
    """A level's requests: those inside its warm-up / cool-down window are measured, the rest warm-up."""
    kept = {id(c) for c in report.kept}
    measured.extend(report.kept)
    warm.extend(c for c in report.completions if id(c) not in kept)


def _filler_maker(workload: Workload, name: str, length: int, gen: int) -> Callable[[int], Planned]:
    return lambda index: workload.request(name, index, length=length, gen=gen)


class ThroughputSuite(SpeedSuiteBase):
    """Decode speed per prompt length or dataset, and optionally per load level."""

    name = "throughput"
    description = "decode tok/s over prompt lengths x generated tokens or a prompt dataset; load levels, sweep"
    trials, warmup, gen_tokens = 3, 1, "128"
    min_gen_tokens = 2  # decode speed is timed between the first and the last token

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--concurrency", default=None, metavar="N,N,...",
                            help="also sweep these numbers of requests in flight (e.g. 1,2,4,8)")
        add_rate_arguments(parser)
        add_workload_arguments(parser)

    def validate_options(self, options: Mapping[str, Any]) -> None:
        super().validate_options(options)
        RateOptions.parse(options)
        workload = WorkloadOptions.parse(options)
        if not workload.random:
            load_prompt_set(workload.dataset)  # a bad file fails now, not after the calibration

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        opts = self.options(ctx.options)
        rates = RateOptions.parse(ctx.options)
        wopts = WorkloadOptions.parse(ctx.options)
        clients = client_processes(ctx, opts)  # an in-process target refuses N > 1 here, before any work
        check, notes = await measure_client(ctx, opts)
        prompts = PromptMaker(ctx)
        calibration_errors = await prompts.calibrate(max(opts.prompt_lengths))
        workload = Workload(ctx, prompts, wopts, length=opts.prompt_lengths[0], gen=opts.gen_tokens[0])
        workload.select()
        gen_cap = max(opts.gen_tokens) if workload.random else max(
            workload.request("dataset", i).request.max_tokens for i in range(workload.size))
        outcome = SuiteOutcome(gen_kwargs=GenKwargs(max_gen_toks=gen_cap, temperature=0.0), errors=notes)
        sent: list[Completion] = []  # measured requests; warm-ups apart (suites.failure_policy counts)
        warm: list[Completion] = []
        in_flight = max([1, *opts.concurrency, rates.max_concurrency or 1])
        watch = FailureWatch.of(ctx.options, in_flight)  # a dead target stops the run: exit 6, nothing stored
        with SpeedProgress(ctx.console, self.name, self._planned(opts, rates, wopts, workload), watch) as progress:
            levels = Levels(ctx, opts, workload, wopts, check, outcome, progress)
            for name, length, gen, n, make in self._cells(opts, workload):
                progress.stage(name)
                result, completions = await self._cell(ctx, opts, wopts, workload, check, name, length, gen, n,
                                                       make, outcome, progress)
                sent.extend(completions[opts.warmup:])
                warm.extend(completions[:opts.warmup])
                if result is not None:
                    outcome.results.append(result)
                else:
                    reasons = [str(s["error"]) for s in outcome.samples if s["result"] == name and s["error"]]
                    outcome.errors.append(f"{name}: no trial could be timed" + (f" ({reasons[0]})" if reasons else ""))
                    outcome.partial = True
            # each load level is its own memory window (Levels); the prefix workloads one window each
            leveled = opts.concurrency or rates.rates or wopts.sweep
            async with (clients if clients is not None and leveled else nullcontext()) as levels.clients:
                for level in opts.concurrency:
                    _split(await levels.concurrency(level), sent, warm)
                for rate in rates.rates:
                    _split(await levels.rate(rate, rates), sent, warm)
                if wopts.shared_prefix:
                    sent.extend(await windowed(ctx, outcome.results, shared_prefix(levels, wopts.shared_prefix)))
                if wopts.turns:
                    sent.extend(await windowed(ctx, outcome.results, turns(levels, wopts.turns)))
                if wopts.sweep:
                    sent.extend(await sweep(levels, rates))
        outcome.errors[:0] = count_lines(sent, warm)
        outcome.partial = outcome.partial or any(not c.ok for c in [*sent, *warm])
        if calibration_errors and prompts.source == "words-estimate":
            outcome.errors.append(f"prompt length calibration: {calibration_errors[0]}; "
                                  "prompt lengths are word counts, not tokens")
        return outcome

    @staticmethod
    def _cells(opts: SpeedOptions, workload: Workload) -> list[tuple[str, int | None, int | None, int,
                                                                        Callable[[int], Planned]]]:
        """(name, prompt length, gen tokens, measured requests, request maker) per one-at-a-time cell."""
        if not workload.random:
            return [("tok_per_sec_dataset", None, None, workload.size, lambda i: workload.request("dataset", i))]
        cells: list[tuple[str, int | None, int | None, int, Callable[[int], Planned]]] = []
        for length in opts.prompt_lengths:
            for gen in opts.gen_tokens:
                name = f"tok_per_sec_{length}" + (f"_g{gen}" if len(opts.gen_tokens) > 1 else "")
                cells.append((name, length, gen, opts.trials, _filler_maker(workload, name, length, gen)))
        return cells

    @staticmethod
    def _planned(opts: SpeedOptions, rates: RateOptions, wopts: WorkloadOptions, workload: Workload) -> int:
        """Requests the run will send (the sweep adds its own as it learns its rates)."""
        extra = sum(int(t.amount) for t in (wopts.level_warmup, wopts.level_cooldown) if t.unit == "requests")
        cells = (len(opts.prompt_lengths) * len(opts.gen_tokens) * (opts.warmup + opts.trials) if workload.random
                 else opts.warmup + workload.size)
        return (cells + sum(opts.trials * (2 * c + extra) for c in opts.concurrency)
                + sum(opts.trials * (rates.requests_at(r) + extra) for r in rates.rates)
                + (1 + 2 * opts.trials if wopts.shared_prefix else 0)
                + (opts.trials * wopts.turns if wopts.turns else 0)
                + (sweep_planned(opts, rates, extra) if wopts.sweep else 0))

    async def _cell(self, ctx: RunContext, opts: SpeedOptions, wopts: WorkloadOptions, workload: Workload,
                    check: ClientCheck | None, name: str, length: int | None, gen: int | None, n: int,
                    make: Callable[[int], Planned], outcome: SuiteOutcome,
                    progress: SpeedProgress) -> tuple[Result | None, list[Completion]]:
        mark = ctx.memory.mark()
        window = MemoryWindow.open(ctx)  # MLX's peak, reset per cell
        cell_log = CellLog.start(ctx)
        started = time.perf_counter()
        completions: list[Completion] = []
        trials: list[TrialMetrics] = []
        timed_indexes: list[int] = []
        warm_length = length or workload.typical_length()
        requested: list[int] = []
        for index in range(opts.warmup + n):
            if index < opts.warmup:  # filler, so no dataset prompt reaches a prefix cache before it is measured
                planned = Planned(speed_request(workload.prompts.messages(warm_length, salt_for(ctx, name, index)),
                                                gen or workload.gen, ctx.seed), warm_length)
            else:
                planned = make(index if workload.random else index - opts.warmup)
            completion = await timed(ctx, planned.request)
            progress.record(completion)
            if workload.random or index < opts.warmup:
                workload.prompts.observe(planned.prompt_tokens, completion)
            completions.append(completion)
            if index < opts.warmup:
                continue
            requested.append(planned.prompt_tokens)
            trial = index - opts.warmup
            record: dict[str, Any] = {"key": f"{name}/trial{trial}", "result": name, "trial": trial,
                                      "prompt_tokens_requested": planned.prompt_tokens,
                                      "gen_tokens_requested": planned.request.max_tokens, "error": completion.error}
            if completion.ok:
                metrics = TrialMetrics.of(completion, planned.prompt_tokens)
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
        decode = [t.decode_tps or 0.0 for t in trials]
        ttfts = [t.ttft_ms for t in trials]
        result = Result(
            name=name, metric="throughput", value=round(value, 4), unit="tok/s",
            duration_seconds=round(time.perf_counter() - started, 4),
            prompt_tokens_per_second=rounded(median_of(trials, "prompt_tps")),
            decode_tokens_per_second=round(value, 4),
            total_tokens_per_second=rounded(median_of(trials, "total_tps")),
            first_token_latency_ms=rounded(median_of(trials, "ttft_ms")),
            peak_rss_mb=rounded(ctx.memory.peak_rss_mb(since=mark), 1),
            raw={"trials": [round(d, 4) for d in decode],
                 "ttft_ms": [round(t, 4) for t in ttfts],
                 "prompt_tokens": [t.prompt_tokens for t in trials],
                 "output_tokens": [t.output_tokens for t in trials]},
        )
        result.tag(**common_tags(ctx, check, workload.prompts), **workload.tags(),
                   **length_tags(completions[opts.warmup:], requested))
        result.tag(**window.tags())
        result.tag(**RequestCounts.of(completions[opts.warmup:], completions[:opts.warmup]).tags(
            max_error_rate(ctx.options.get("max_error_rate"))))
        server_tps = median_of(trials, "server_decode_tps")
        result.tag(
            token_count_source=trials[0].token_source,
            prompt_tokens=count_tag(median_of(trials, "prompt_tokens")),
            prompt_tokens_requested=length if length is not None else "dataset",
            prompt_tokens_cached=count_tag(median_of(trials, "cached_prompt_tokens")),
            output_tokens=count_tag(median_of(trials, "output_tokens")),
            gen_tokens_requested=gen if gen is not None else "dataset",
            trials=len(trials),
            warmup=opts.warmup,
            server_decode_tok_per_sec=round(server_tps, 3) if server_tps is not None else "not reported",
            near_client_ceiling=check.near_ceiling(value) if check else "unknown",
            **spread_tags(decode, decode),
            **{f"ttft_{label(q)}_ms": round(v, 4) for q in wopts.percentiles
               if (v := percentile(ttfts, q)) is not None},
        )
        if server_tps:  # the target's own statistic: llama.cpp's timings, mlx-lm's generation_tps in process
            result.tag(server_decode_diff_pct=round((value - server_tps) / server_tps * 100, 2))
        if cell_log is not None:
            result.tag(**cell_log.tags(completions, timed_indexes, value))
        return result, completions
