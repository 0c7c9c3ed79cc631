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
    assert set(results) == {  # the seed converter's names
        ("gsm8k_cot_zeroshot", "exact_match_strict"), ("gsm8k_cot_zeroshot", "exact_match_flexible"),
        ("arc_challenge", "accuracy"), ("arc_challenge", "accuracy_normalized"),
    }
    flexible = results[("gsm8k_cot_zeroshot", "exact_match_flexible")]
    assert flexible["value"] == 0.8 and flexible["tags"]["stderr"] == "0.1333"
    assert flexible["tags"]["lm_eval_key"] == "exact_match,flexible-extract"
    assert flexible["tags"]["n_limit"] == "20.0" and flexible["tags"]["n_samples"] == "10"
    assert flexible["tags"]["total_eval_time_s"] == "123.4" and "duration_seconds" not in flexible
    assert flexible["tags"]["scoring"] == "generate" and flexible["tags"]["subset"] == "first"
    accuracy = results[("arc_challenge", "accuracy")]
    assert accuracy["tags"]["scoring"] == "loglikelihood" and accuracy["tags"]["num_fewshot"] == "0"
    assert accuracy["tags"]["reference"] == "lm-eval 0.4 multiple_choice acc (= OLMES acc_raw)"
    assert "dataset" not in accuracy["tags"]  # the file's task config does not show which ARC it read
    assert envelope["model"] == "mlx-community/Qwen3.5-9B-MLX-4bit"
    assert envelope["model_revision"] == "0a1b2c3d" and envelope["seed"] == 0
    assert envelope["gen_kwargs"] == {"max_gen_toks": 256, "temperature": 0.0}
    assert envelope["timestamp"].startswith("2026-04-24T")
    assert envelope["results"][0]["raw"]["lm_eval_unknown_keys"]["tokenizer_pad_token"][0] == "<|endoftext|>"


def test_lm_eval_keys_the_converter_does_not_name_keep_our_names_and_units() -> None:
    document = {"results": {"wikitext": {"word_perplexity,none": 25.5, "bits_per_byte,none": 0.7,
                                         "exact_match,custom-extract": 0.25, "flag,none": True}},
                "total_evaluation_time_seconds_per_task": {"wikitext": 12.5}}
    context = ImportContext(source="x.json", suite="reasoning", model="m", git_sha="abc1234", system=SYSTEM)
    results = by_key(get_importer("lm-eval")(document, context).validated())
    assert set(results) == {("wikitext", "word_perplexity_none"), ("wikitext", "bits_per_byte_none"),
                            ("wikitext", "exact_match_custom_extract")}  # a boolean is no metric
    assert results[("wikitext", "word_perplexity_none")]["unit"] == "score"
    assert results[("wikitext", "bits_per_byte_none")]["unit"] == "ratio"
    assert {r["duration_seconds"] for r in results.values()} == {12.5}  # the converter's per-task time
    assert all("n_limit" in r["tags"] and r["tags"]["n_limit"] == "all" for r in results.values())


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
    output = results[("benchmark_serving", "throughput_output_toks_per_s")]  # the seed converter's names
    assert output["value"] == 295.15 and output["unit"] == "tok/s" and output["duration_seconds"] == 42.5
    assert output["decode_tokens_per_second"] == 295.15 and output["first_token_latency_ms"] == 398.1
    assert output["prompt_tokens_per_second"] == pytest.approx(51200 / 42.5)
    assert output["tags"]["completed_requests"] == "98" and output["tags"]["vllm_key"] == "output_throughput"
    assert results[("benchmark_serving", "throughput_requests_per_s")]["unit"] == "req/s"
    for quantity in ("ttft", "tpot", "itl"):
        assert results[("benchmark_serving", f"{quantity}_p50_ms")]["unit"] == "ms"
        assert results[("benchmark_serving", f"{quantity}_p99_ms")]["tags"]["higher_is_better"] == "false"
    for quantity in ("ttft", "tpot", "itl", "e2el"):  # the statistics the converter does not name: ours
        for stat in ("mean", "std"):
            assert results[(f"{quantity}_{stat}", "latency")]["unit"] == "ms"
    assert ("e2el_p99", "latency") in results and ("ttft_median", "latency") not in results
    assert results[("ttft_p90", "latency")]["value"] == 480.0
    assert results[("ttft_p90", "latency")]["tags"]["request_rate"] == results[("benchmark_serving", "ttft_p99_ms")]["tags"]["request_rate"]
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
