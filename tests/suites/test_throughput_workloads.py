"""Real workloads in the throughput suite: prompt datasets, a shared prefix, multi-turn chats.

The calibration server counts words as tokens and, with ``prefix_cache``, serves a prompt's longest common
word prefix with recent prompts from its "cache" at no prefill cost (``prefill_ms_per_token`` per other word),
so the expected TTFTs and cached counts are known in advance.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np

from mlx_benchmarks.datasets.prompts import load_prompt_set, select_prompts
from mlx_benchmarks.measure.calibration_server import CalibrationServer
from mlx_benchmarks.suites.base import SuiteOutcome
from tests.measure.test_calibration_server import slack_ms
from tests.suites.test_throughput import run_suite, valid


async def run_against(server: CalibrationServer, **options: Any) -> SuiteOutcome:
    await server.start()
    try:
        outcome, _ = await run_suite(server.url, **options)
    finally:
        await server.close()
    return outcome


def bodies(server: CalibrationServer) -> list[dict[str, Any]]:
    return [json.loads(b) for b in server.received]


def words(text: str) -> int:
    return len(text.split())


def test_the_sample_dataset_is_sent_as_is_and_its_lengths_are_reported() -> None:
    server = CalibrationServer(ttft_ms=2, itl_ms=1, record=True)
    outcome = asyncio.run(run_against(server, dataset="sample", dataset_limit=6, warmup=1, trials=2,
                                      concurrency="2"))
    valid(outcome)
    chosen = select_prompts(load_prompt_set("sample"), count=words, limit=6, seed=1234)
    sent = bodies(server)[2:]  # after the two calibration probes
    measured = sent[1:7]  # after the one warm-up (filler, so no dataset prompt is seen before it is measured)
    assert [b["messages"] for b in measured] == [list(i.messages) for i in chosen.items]
    assert [b["max_tokens"] for b in measured] == [i.output_tokens for i in chosen.items]
    assert all(m not in [list(i.messages) for i in chosen.items] for m in [sent[0]["messages"]])
    names = {r.name: r for r in outcome.results}
    cell = names["tok_per_sec_dataset"]
    assert cell.tags["dataset"] == "sample" and cell.tags["dataset_license"] == "Apache-2.0"
    assert cell.tags["dataset_prompts"] == "6" and cell.tags["trials"] == "6"
    assert cell.tags["prompt_tokens_requested"] == "dataset" and len(cell.raw["trials"]) == 6
    lengths = [words(i.text()) for i in chosen.items]
    outputs = [i.output_tokens or 0 for i in chosen.items]
    assert float(cell.tags["input_tokens_p50"]) == round(float(np.percentile(lengths, 50)), 1)
    assert float(cell.tags["input_tokens_p90"]) == round(float(np.percentile(lengths, 90)), 1)
    assert float(cell.tags["output_tokens_p90"]) == round(float(np.percentile(outputs, 90)), 1)
    level = names["concurrency_2_requests_per_sec"]
    assert level.tags["dataset"] == "sample" and level.tags["prompt_tokens_requested"] == "dataset"
    assert float(level.tags["input_tokens_p50"]) > 0
    level_bodies = sent[7:]
    assert all(b["messages"] in [list(i.messages) for i in chosen.items] for b in level_bodies)
    assert outcome.gen_kwargs is not None and outcome.gen_kwargs.max_gen_toks == max(outputs)


def test_shared_prefix_is_measured_against_an_unshared_baseline_in_one_run() -> None:
    server = CalibrationServer(ttft_ms=5, itl_ms=1, prefill_ms_per_token=1.0, prefix_cache=True, record=True)
    outcome = asyncio.run(run_against(server, prompt_lengths="20", gen_tokens="4", trials=3, warmup=0,
                                      shared_prefix=100))
    valid(outcome)
    slack = slack_ms(server)
    systems = [b["messages"][0]["content"] for b in bodies(server) if b["messages"][0]["role"] == "system"]
    assert len(systems) == 1 + 2 * 3, "one warm-up, then three pairs"
    prefix, pairs = systems[0], systems[1:]
    baseline, shared = pairs[0::2], pairs[1::2]
    assert shared == [prefix] * 3, "byte for byte the same system prompt"
    assert len(set(baseline)) == 3 and prefix not in baseline and words(prefix) == 100
    names = {r.name: r for r in outcome.results}
    with_prefix, without = names["shared_prefix_ttft_ms"], names["shared_prefix_baseline_ttft_ms"]
    # 120 words: unshared, ~5 + 120 ms; shared, 100 of them cached: ~5 + 20 ms
    assert 5 + 118 <= without.value < 5 + 120 + slack
    assert 5 + 19 <= with_prefix.value < 5 + 21 + slack
    assert with_prefix.tags["prompt_tokens"] == without.tags["prompt_tokens"] == "120"
    assert with_prefix.tags["prompt_tokens_cached"] in ("100", "101") and int(without.tags["prompt_tokens_cached"]) <= 2
    ratio = names["shared_prefix_ttft_ratio"]
    assert ratio.value == round(with_prefix.value / without.value, 4) and 0.15 < ratio.value < 0.3
    assert ratio.unit == "ratio" and ratio.tags["shared_prefix_tokens"] == "100"
    assert float(ratio.tags["prompt_tps_speedup"]) > 3
    assert names["shared_prefix_prompt_tok_per_sec"].value > 3 * names["shared_prefix_baseline_prompt_tok_per_sec"].value
    assert "stddev" in with_prefix.tags and "trial_min" in with_prefix.tags


def test_load_levels_record_the_cached_prompt_tokens_the_server_reports() -> None:
    server = CalibrationServer(ttft_ms=2, itl_ms=1, prefix_cache=True)
    outcome = asyncio.run(run_against(server, prompt_lengths="16", gen_tokens="3", trials=1, warmup=0,
                                      concurrency="2"))
    level = {r.name: r for r in outcome.results}["concurrency_2_requests_per_sec"]
    assert float(level.tags["cached_tokens_p50"]) <= 1, "salted prompts share (almost) nothing"


def test_turns_carry_the_conversation_and_report_ttft_per_turn() -> None:
    server = CalibrationServer(ttft_ms=5, itl_ms=1, prefill_ms_per_token=1.0, prefix_cache=True, record=True)
    outcome = asyncio.run(run_against(server, prompt_lengths="30", gen_tokens="4", trials=2, warmup=0, turns=3))
    valid(outcome)
    slack = slack_ms(server)
    last = bodies(server)[-1]["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user", "assistant", "user"]
    assert last[1]["content"] == " tok tok tok tok", "the target's own answer goes back in the next turn"
    names = {r.name: r for r in outcome.results}
    turns = [names[f"turn_{t}_ttft_ms"] for t in (1, 2, 3)]
    # each turn adds 30 + 4 words; the server's cache holds the previous prompt, so ~34 words are prefilled
    assert [t.tags["prompt_tokens"] for t in turns] == ["30", "64", "98"]
    assert [int(t.tags["prompt_tokens_cached"]) for t in turns] in ([0, 30, 64], [1, 30, 64])
    assert all(t.tags["conversations"] == "2" for t in turns)
    assert 5 + 33 <= turns[2].value < 5 + 35 + slack, "34 words prefilled, not all 98"
    assert float(turns[2].tags["ttft_vs_turn_1"]) == round(turns[2].value / turns[0].value, 4)
