from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.importers import get_importer
from mlx_benchmarks.importers.common import ImportContext

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
SYSTEM = {"os": "macOS 26.1", "chip": "Apple M4 Max", "memory_gb": 128}


def convert(kind: str, name: str, suite: str, **kw: Any) -> dict[str, Any]:
    document = json.loads((FIXTURES / name).read_text())
    context = ImportContext(source=name, suite=suite, model=kw.get("model"), git_sha="abc1234", system=SYSTEM)
    return get_importer(kind)(document, context).validated()


def by_key(envelope: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["name"], r["metric"]): r for r in envelope["results"]}


def test_lm_eval_every_metric_with_stderr_limit_gen_kwargs_seed_revision() -> None:
    envelope = convert("lm-eval", "lm_eval_results.json", "reasoning")
    results = by_key(envelope)
    assert set(results) == {
        ("gsm8k_cot_zeroshot", "exact_match_strict_match"), ("gsm8k_cot_zeroshot", "exact_match_flexible_extract"),
        ("arc_challenge", "acc_none"), ("arc_challenge", "acc_norm_none"),
    }
    flexible = results[("gsm8k_cot_zeroshot", "exact_match_flexible_extract")]
    assert flexible["value"] == 0.8 and flexible["tags"]["stderr"] == "0.1333"
    assert flexible["tags"]["lm_eval_key"] == "exact_match,flexible-extract"
    assert flexible["tags"]["n_limit"] == "20.0" and flexible["tags"]["n_samples"] == "10"
    assert flexible["tags"]["total_eval_time_s"] == "123.4"
    assert envelope["model"] == "mlx-community/Qwen3.5-9B-MLX-4bit"
    assert envelope["model_revision"] == "0a1b2c3d" and envelope["seed"] == 0
    assert envelope["gen_kwargs"] == {"max_gen_toks": 256, "temperature": 0.0}
    assert envelope["timestamp"].startswith("2026-04-24T")
    assert envelope["results"][0]["raw"]["lm_eval_unknown_keys"]["tokenizer_pad_token"][0] == "<|endoftext|>"


def test_lm_eval_of_another_shape_is_refused() -> None:
    with pytest.raises(UsageError, match="not a lm-eval results file"):
        convert("lm-eval", "vllm_bench_serve.json", "reasoning")
    context = ImportContext(source="x.json", suite="reasoning", model=None, git_sha="abc1234", system=SYSTEM)
    for document in ([1, 2], {"results": {"t": 3}}, {"results": {"t": {"alias": "t"}}}):
        with pytest.raises(UsageError):
            get_importer("lm-eval")(document, context)


def test_vllm_throughput_and_latency_percentiles() -> None:
    envelope = convert("vllm", "vllm_bench_serve.json", "throughput")
    results = by_key(envelope)
    output = results[("output_tokens_per_second", "throughput")]
    assert output["value"] == 295.15 and output["unit"] == "tok/s"
    assert output["decode_tokens_per_second"] == 295.15 and output["first_token_latency_ms"] == 398.1
    assert output["prompt_tokens_per_second"] == pytest.approx(51200 / 42.5)
    assert results[("requests_per_second", "throughput")]["unit"] == "req/s"
    for quantity in ("ttft", "tpot", "itl", "e2el"):
        for stat in ("mean", "median", "std", "p99"):
            assert results[(f"{quantity}_{stat}", "latency")]["unit"] == "ms"
    assert results[("ttft_p90", "latency")]["value"] == 480.0
    assert envelope["errors"] == ["2 of 100 requests failed"]
    raw = envelope["results"][0]["raw"]
    assert raw["other"]["some_future_key"] == {"nested": True} and raw["per_request"]["output_lens"] == [128, 128, 128]
    assert envelope["timestamp"] == "2026-11-20T10:15:00Z"


def test_llama_bench_pp_and_tg() -> None:
    envelope = convert("llama-bench", "llama_bench.json", "throughput", model="smollm2")
    results = by_key(envelope)
    pp = results[("pp512", "throughput")]
    tg = results[("tg128", "throughput")]
    assert pp["prompt_tokens_per_second"] == 9993.4 and "decode_tokens_per_second" not in pp
    assert tg["decode_tokens_per_second"] == 310.7
    assert tg["raw"]["trials"] == [312.2, 311.4, 308.4]
    assert pp["raw"]["row"]["unexpected_new_field"] == "kept"
    assert envelope["quantization"] == "Q4_1" and envelope["model"] == "smollm2"
    assert envelope["system"]["chip"] == "Apple M4 Max"


def test_unknown_kind() -> None:
    with pytest.raises(UsageError, match="unknown import kind"):
        get_importer("guidellm")
