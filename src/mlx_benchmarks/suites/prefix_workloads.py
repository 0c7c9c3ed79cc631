"""Prefix-cache workloads: a shared system prompt (``--shared-prefix N``) and multi-turn chats (``--turns K``).

Shared prefix: every prompt is an N-token system prompt followed by a unique user turn. One unmeasured request
puts the prefix in the target's cache; then ``--trials`` pairs alternate an unshared prompt of the same shape
(its system prompt salted afresh: nothing to reuse) with a shared one, so drift in the machine's speed hits
both alike. TTFT and prompt tok/s with and without, and their ratio, are results of the same run.

Turns: ``--trials`` conversations of K turns each, one at a time; turn k sends the k - 1 earlier turns (the
target's own answers included) and a new user message, as a chat client does. TTFT per turn index shows what
the target's cache saves as the conversation grows.
"""

from __future__ import annotations

import time
from typing import Any

from mlx_benchmarks.envelope import Result
from mlx_benchmarks.measure.stats import median, spread_tags
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.load_levels import Levels
from mlx_benchmarks.suites.speed_common import (
    TrialMetrics,
    common_tags,
    count_tag,
    median_of,
    rounded,
    salt_for,
    speed_request,
    timed,
)


def _with_system(text: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``text`` as the system prompt, ahead of any system prompt the messages bring."""
    if messages and messages[0].get("role") == "system":
        return [{"role": "system", "content": f"{text}\n\n{messages[0]['content']}"}, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


async def _send(levels: Levels, messages: list[dict[str, Any]], gen: int) -> Completion:
    completion = await timed(levels.ctx, speed_request(messages, gen, levels.ctx.seed), keep_text=True)
    levels.progress.record(completion)
    return completion


def _result(levels: Levels, name: str, metric: str, unit: str, values: list[float], tags: dict[str, object],
            started: float, **fields: Any) -> Result:
    value = median(values)
    assert value is not None
    result = Result(name=name, metric=metric, value=round(value, 4), unit=unit,
                    duration_seconds=round(time.perf_counter() - started, 4),
                    raw={"trials": [round(v, 4) for v in values]}, **fields)
    return result.tag(**tags, **spread_tags(values, values))


async def shared_prefix(levels: Levels, n_prefix: int) -> list[Completion]:
    """Alternate unshared and shared-prefix requests; results ``shared_prefix_*``."""
    ctx, workload, outcome = levels.ctx, levels.workload, levels.outcome
    levels.progress.stage(f"shared_prefix_{n_prefix}")
    started = time.perf_counter()
    prefix = workload.text(n_prefix, salt_for(ctx, "shared-prefix"))
    sent: list[Completion] = []
    warm = workload.request("prefix/warm-up", 0)
    sent.append(await _send(levels, _with_system(prefix, warm.request.messages), warm.request.max_tokens))
    measured: dict[str, list[TrialMetrics]] = {"baseline": [], "shared": []}
    for trial in range(levels.opts.trials):
        tail = workload.request("prefix", trial)  # the same user turn in both: only the system prompt differs
        for kind in ("baseline", "shared"):
            system = prefix if kind == "shared" else workload.text(n_prefix, salt_for(ctx, "prefix-baseline", trial))
            completion = await _send(levels, _with_system(system, tail.request.messages), tail.request.max_tokens)
            sent.append(completion)
            record: dict[str, Any] = {"key": f"shared_prefix/{kind}/trial{trial}", "result": f"shared_prefix_{kind}",
                                      "trial": trial, "shared_prefix_tokens": n_prefix, "error": completion.error}
            if completion.ok and completion.ttft_ms is not None:
                metrics = TrialMetrics.of(completion, n_prefix + tail.prompt_tokens)
                measured[kind].append(metrics)
                record.update(metrics.record())
            outcome.samples.append(record)
    if not measured["baseline"] or not measured["shared"]:
        outcome.errors.append("shared_prefix: no pair of requests could be timed")
        return sent
    base_tags = {**common_tags(ctx, levels.check, workload.prompts), **workload.tags(),
                 "shared_prefix_tokens": n_prefix, "trials": levels.opts.trials}
    figures: dict[str, dict[str, float]] = {}
    for kind, trials in measured.items():
        tags = {**base_tags, "prefix": kind, "prompt_tokens": count_tag(median_of(trials, "prompt_tokens")),
                "prompt_tokens_cached": count_tag(median_of(trials, "cached_prompt_tokens"))}
        suffix = "_baseline" if kind == "baseline" else ""
        ttft = [t.ttft_ms for t in trials]
        prompt_tps = [t.prompt_tps for t in trials if t.prompt_tps is not None]
        outcome.results.append(_result(levels, f"shared_prefix{suffix}_ttft_ms", "latency", "ms", ttft, tags, started,
                                       first_token_latency_ms=rounded(median(ttft)),
                                       prompt_tokens_per_second=rounded(median(prompt_tps))))
        if prompt_tps:
            outcome.results.append(_result(levels, f"shared_prefix{suffix}_prompt_tok_per_sec", "throughput",
                                           "tok/s", prompt_tps, tags, started))
        figures[kind] = {"ttft": median(ttft) or 0.0, "prompt_tps": median(prompt_tps) or 0.0}
    ratio = figures["shared"]["ttft"] / figures["baseline"]["ttft"] if figures["baseline"]["ttft"] else None
    if ratio is not None:
        pairs = [s.ttft_ms / b.ttft_ms for s, b in zip(measured["shared"], measured["baseline"], strict=False)
                 if b.ttft_ms > 0]
        outcome.results.append(Result(
            name="shared_prefix_ttft_ratio", metric="ratio", value=round(ratio, 4), unit="ratio",
            duration_seconds=round(time.perf_counter() - started, 4), raw={"trials": [round(p, 4) for p in pairs]},
        ).tag(**base_tags, definition="median TTFT with the shared prefix / median TTFT without",
              ttft_saved_pct=round((1 - ratio) * 100, 2),
              prompt_tps_speedup=round(figures["shared"]["prompt_tps"] / figures["baseline"]["prompt_tps"], 3)
              if figures["baseline"]["prompt_tps"] else "unknown", **spread_tags(pairs, pairs)))
    return sent


async def turns(levels: Levels, k: int) -> list[Completion]:
    """``--trials`` conversations of ``k`` turns; results ``turn_<i>_ttft_ms``."""
    ctx, workload, outcome = levels.ctx, levels.workload, levels.outcome
    levels.progress.stage(f"turns_{k}")
    started = time.perf_counter()
    sent: list[Completion] = []
    per_turn: dict[int, list[TrialMetrics]] = {turn: [] for turn in range(1, k + 1)}
    for conversation in range(levels.opts.trials):
        history: list[dict[str, Any]] = []
        for turn in range(1, k + 1):
            planned = workload.request(f"turns/{conversation}", turn - 1)
            new = [m for m in planned.request.messages if turn == 1 or m.get("role") != "system"]
            history = [*history, *new]
            completion = await _send(levels, history, planned.request.max_tokens)
            sent.append(completion)
            record: dict[str, Any] = {"key": f"turns/conv{conversation}/turn{turn}", "result": f"turn_{turn}",
                                      "trial": conversation, "turn": turn, "error": completion.error}
            if not completion.ok or completion.ttft_ms is None:
                outcome.samples.append(record)
                break  # the conversation cannot go on without the answer
            metrics = TrialMetrics.of(completion, planned.prompt_tokens)
            per_turn[turn].append(metrics)
            record.update(metrics.record())
            outcome.samples.append(record)
            history.append({"role": "assistant", "content": completion.text or completion.reasoning or "ok"})
    base = {**common_tags(ctx, levels.check, workload.prompts), **workload.tags(), "turns": k}
    first = median_of(per_turn[1], "ttft_ms")
    for turn, trials in per_turn.items():
        if not trials:
            continue
        ttft = [t.ttft_ms for t in trials]
        value = median(ttft)
        tags = {**base, "turn": turn, "conversations": len(trials),
                "prompt_tokens": count_tag(median_of(trials, "prompt_tokens")),
                "prompt_tokens_cached": count_tag(median_of(trials, "cached_prompt_tokens")),
                "ttft_vs_turn_1": round(value / first, 4) if first and value is not None else "unknown"}
        outcome.results.append(_result(levels, f"turn_{turn}_ttft_ms", "latency", "ms", ttft, tags, started,
                                       first_token_latency_ms=rounded(value),
                                       prompt_tokens_per_second=rounded(median_of(trials, "prompt_tps"))))
    return sent
