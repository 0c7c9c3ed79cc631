"""``ttft``: time to first token per prompt length, cold (first request after load) and warm (p50/p90/p99).

The headline is the first generated token of any kind: content, reasoning or a tool-call delta. A role-only
or empty chunk is not a token. Each result also records the other definitions (first byte, first content,
first reasoning, first tool-call delta), so numbers from other tools can be matched to ours.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from typing import Any

from mlx_benchmarks.envelope import GenKwargs, Result
from mlx_benchmarks.measure.load import ClientCheck
from mlx_benchmarks.measure.stats import label, percentile, spread_tags
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.failure_policy import FailureWatch, RequestCounts, count_lines, max_error_rate
from mlx_benchmarks.suites.memory_window import MemoryWindow
from mlx_benchmarks.suites.server_log_check import CellLog
from mlx_benchmarks.suites.speed_common import (
    PromptMaker,
    SpeedOptions,
    SpeedSuiteBase,
    TrialMetrics,
    client_processes,
    common_tags,
    count_tag,
    filler_text,
    measure_client,
    median_of,
    rounded,
    salt_for,
    speed_request,
    timed,
)
from mlx_benchmarks.suites.speed_progress import SpeedProgress
from mlx_benchmarks.suites.workload_options import parse_percentiles

DEFINITIONS = {
    "first_byte_ms": "first byte of the response body",
    "first_content_ms": "first non-empty content delta",
    "first_reasoning_ms": "first non-empty reasoning delta (reasoning_content / reasoning)",
    "first_tool_call_ms": "first tool-call delta",
}


class TTFTSuite(SpeedSuiteBase):
    """Time to first token, cold and warm."""

    name = "ttft"
    description = "time to first token per prompt length: cold, then p50/p90/p99 warm"
    trials, warmup, gen_tokens = 5, 1, "8"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--percentiles", default=None, metavar="Q,Q,...",
                            help="warm TTFT percentiles to report (default 50,90,99; e.g. 50,90,95,99,99.9)")

    def validate_options(self, options: Mapping[str, Any]) -> None:
        super().validate_options(options)
        parse_percentiles(options.get("percentiles"))

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        opts = self.options(ctx.options)
        client_processes(ctx, opts)  # N > 1 sizes the client check only (one request at a time needs no more)
        gen = opts.gen_tokens[0]
        outcome = SuiteOutcome(gen_kwargs=GenKwargs(max_gen_toks=gen, temperature=0.0))
        prompts = PromptMaker(ctx)
        sent: list[Completion] = []
        warm: list[Completion] = []
        # the cold request comes first of all, before the client check and the calibration probes
        cold_result = await self._cold(ctx, prompts, opts.prompt_lengths[0], gen, sent) if ctx.cold else None
        check, notes = await measure_client(ctx, opts)
        outcome.errors.extend(notes)
        await prompts.calibrate(max(opts.prompt_lengths))
        if cold_result is not None:
            outcome.results.append(cold_result.tag(**common_tags(ctx, check, prompts)))
        watch = FailureWatch.of(ctx.options)  # a dead target stops the run: exit 6, nothing stored
        with SpeedProgress(ctx.console, self.name, len(opts.prompt_lengths) * (opts.warmup + opts.trials),
                           watch) as progress:
            for length in opts.prompt_lengths:
                progress.stage(f"ttft_ms_{length}")
                outcome.results.extend(await self._warm(ctx, opts, prompts, check, length, gen, (sent, warm),
                                                        outcome, progress.record))
        outcome.errors[:0] = count_lines(sent, warm)  # measured requests, then the warm-ups apart
        outcome.partial = any(not c.ok for c in [*sent, *warm])
        return outcome

    async def _cold(self, ctx: RunContext, prompts: PromptMaker, length: int, gen: int,
                    sent: list[Completion]) -> Result | None:
        mark = ctx.memory.mark()
        window = MemoryWindow.open(ctx)  # MLX's peak, reset per cell
        salt = salt_for(ctx, "cold")
        text = ctx.target.make_prompt(length, salt) or filler_text(length, salt)
        completion = await timed(ctx, speed_request([{"role": "user", "content": text}], gen, ctx.seed))
        sent.append(completion)
        if not completion.ok or completion.ttft_ms is None:
            return None
        metrics = TrialMetrics.of(completion, length)
        result = Result(name=f"ttft_ms_{length}_cold", metric="latency", value=round(metrics.ttft_ms, 4),
                        unit="ms", duration_seconds=round(metrics.duration_s, 4),
                        first_token_latency_ms=round(metrics.ttft_ms, 4),
                        prompt_tokens_per_second=rounded(metrics.prompt_tps),
                        peak_rss_mb=rounded(ctx.memory.peak_rss_mb(since=mark), 1),
                        raw={"trials": [round(metrics.ttft_ms, 4)], **self._definitions([metrics])})
        return result.tag(cold=True, trials=1, prompt_tokens=count_tag(metrics.prompt_tokens),
                          prompt_tokens_requested=length, token_count_source=metrics.token_source,
                          **self._definition_tags([metrics]), **window.tags())

    async def _warm(self, ctx: RunContext, opts: SpeedOptions, prompts: PromptMaker, check: ClientCheck | None,
                    length: int, gen: int, sent: tuple[list[Completion], list[Completion]], outcome: SuiteOutcome,
                    record_progress: Callable[[Completion], None]) -> list[Result]:
        mark = ctx.memory.mark()
        window = MemoryWindow.open(ctx)
        cell_log = CellLog.start(ctx)
        started = time.perf_counter()
        trials: list[TrialMetrics] = []
        completions: list[Completion] = []
        for index in range(opts.warmup + opts.trials):
            salt = salt_for(ctx, "ttft", length, index)
            completion = await timed(ctx, speed_request(prompts.messages(length, salt), gen, ctx.seed))
            prompts.observe(length, completion)
            sent[index < opts.warmup].append(completion)  # (measured, warm-up)
            record_progress(completion)
            completions.append(completion)
            if index < opts.warmup:
                continue
            record: dict[str, Any] = {"key": f"ttft_ms_{length}/trial{index - opts.warmup}",
                                      "result": f"ttft_ms_{length}", "trial": index - opts.warmup,
                                      "prompt_tokens_requested": length, "error": completion.error}
            if completion.ok:
                metrics = TrialMetrics.of(completion, length)
                trials.append(metrics)
                record.update(metrics.record())
            outcome.samples.append(record)
        if not trials:
            return []
        values = [t.ttft_ms for t in trials]
        raw = {"trials": [round(v, 4) for v in values], **self._definitions(trials)}
        tags = {**common_tags(ctx, check, prompts), "cold": False, "trials": len(trials), "warmup": opts.warmup,
                "prompt_tokens": count_tag(median_of(trials, "prompt_tokens")), "prompt_tokens_requested": length,
                "token_count_source": trials[0].token_source, **self._definition_tags(trials)}
        tags["near_client_ceiling"] = check.near_ceiling(median_of(trials, "decode_tps")) if check else "unknown"
        if cell_log is not None:
            timed_indexes = [i for i in range(opts.warmup, len(completions)) if completions[i].ok]
            tags.update(cell_log.tags(completions, timed_indexes, median_of(trials, "decode_tps")))
        tags.update(window.tags(), **spread_tags(values, values))
        tags.update(RequestCounts.of(completions[opts.warmup:], completions[:opts.warmup]).tags(
            max_error_rate(ctx.options.get("max_error_rate"))))
        peak = rounded(ctx.memory.peak_rss_mb(since=mark), 1)
        duration = round(time.perf_counter() - started, 4)
        results = []
        for q in parse_percentiles(ctx.options.get("percentiles")):
            value = percentile(values, q)
            assert value is not None
            result = Result(name=f"ttft_ms_{length}_{label(q)}", metric="latency", value=round(value, 4), unit="ms",
                            duration_seconds=duration, first_token_latency_ms=round(value, 4), peak_rss_mb=peak,
                            prompt_tokens_per_second=rounded(median_of(trials, "prompt_tps")) if q == 50 else None,
                            raw=raw)
            results.append(result.tag(**tags, percentile=label(q)))
        return results

    @staticmethod
    def _definitions(trials: list[TrialMetrics]) -> dict[str, list[float | None]]:
        """Per-trial values of every other TTFT definition."""
        return {key: [rounded(getattr(t, key)) for t in trials] for key in DEFINITIONS}

    @staticmethod
    def _definition_tags(trials: list[TrialMetrics]) -> dict[str, object]:
        tags: dict[str, object] = {}
        for key in DEFINITIONS:
            value = median_of(trials, key)
            tags[f"{key}_p50"] = round(value, 4) if value is not None else "not seen"
        return tags
