"""compare pairs results by name, metric and configuration; the rest is listed with the reason, never compared."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.fixtures.make_runs import envelope, noisy_trials, speed_result

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.compare import compare_envelopes, compare_runs, result_config
from mlx_benchmarks.compare.config_key import differences
from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.store import Store

MODEL = "Qwen3-4B-4bit"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def tagged(name: str, values: Sequence[float], tags: Mapping[str, str]) -> JSON:
    return {**speed_result(name, values), "tags": dict(tags)}


def put(store: Store, hour: float, results: Sequence[JSON], **fields: Any) -> str:
    return store.put({**envelope(suite="throughput", model=MODEL, hour=hour, results=results), **fields}).run_id


def cell(gen: int, *, center: float = 100.0, seed: int = 1, **tags: str) -> JSON:
    """A throughput cell at 128 prompt tokens; its name does not say how many tokens were generated."""
    return tagged("tok_per_sec_128", noisy_trials(center, seed=seed),
                  {"prompt_tokens_requested": "128", "gen_tokens_requested": str(gen), **tags})


def run(args: list[str], store: Store, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([*args, "--store", str(store.root)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_8_and_16_generated_tokens_are_not_paired_and_the_reason_is_printed(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    shared = tagged("load_time", noisy_trials(2.0, seed=5), {})
    a = put(store, 1, [cell(8), shared])
    b = put(store, 2, [cell(16, center=50.0, seed=2), shared])  # half the speed: a different workload
    comparison = compare_runs(store, a, b)
    assert [r.name for r in comparison.rows] == ["load_time"]
    assert [str(u) for u in comparison.unpaired] == ["tok_per_sec_128/throughput: gen_tokens 8 vs 16"]
    assert comparison.regressions == []  # the slower cell was never compared
    code, out, _ = run(["compare", a, b, "--fail-on-regression"], store, capsys)
    assert code == 0
    assert "Not paired: tok_per_sec_128/throughput: gen_tokens 8 vs 16" in out
    document = json.loads(run(["compare", a, b, "--json"], store, capsys)[1])
    assert document["unpaired"] == [{"key": "tok_per_sec_128/throughput", "reason": "gen_tokens 8 vs 16"}]


def test_nothing_comparable_exits_2_with_one_line(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    a = put(store, 1, [cell(8)])
    b = put(store, 2, [cell(16, seed=2)])
    code, out, err = run(["compare", a, b, "--json", "--fail-on-regression"], store, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "nothing comparable" in err and "gen_tokens 8 vs 16" in err
    # no shared name at all: the same exit, another reason
    c = put(store, 3, [tagged("prefill", noisy_trials(90, seed=3), {})])
    code, _, err = run(["compare", a, c], store, capsys)
    assert code == 2 and "no result name and metric in common" in err


def test_a_different_weights_layout_is_not_paired_unless_asked(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    a = put(store, 1, [cell(16, weights_layout="quantized", device="gpu")])
    b = put(store, 2, [cell(16, seed=2, weights_layout="float32", device="gpu")])
    code, _, err = run(["compare", a, b], store, capsys)
    assert code == 2 and "weights_layout quantized vs float32" in err
    code, out, _ = run(["compare", a, b, "--ignore-config", "weights_layout", "--format", "json"], store, capsys)
    document = json.loads(out)
    assert code == 0 and [r["name"] for r in document["rows"]] == ["tok_per_sec_128"]
    assert document["ignored_config"] == ["weights_layout"] and "weights_layout" not in document["rows"][0]["config"]
    code, _, err = run(["compare", a, b, "--ignore-config", "layout"], store, capsys)
    assert code == 2 and "'layout' is not a configuration key" in err


def test_a_key_recorded_on_one_side_only_is_a_difference() -> None:
    a = envelope(suite="knowledge", model=MODEL, hour=1,
                 results=[{"name": "arc_easy", "metric": "accuracy", "value": 0.5, "unit": "ratio"}])
    b = envelope(suite="knowledge", model=MODEL, hour=2,
                 results=[{"name": "arc_easy", "metric": "accuracy", "value": 0.7, "unit": "ratio",
                           "tags": {"scoring": "loglikelihood", "num_fewshot": "0"}}])
    comparison = compare_envelopes(a, b)
    assert comparison.rows == []
    assert [u.reason for u in comparison.unpaired] == [
        "scoring (not recorded) vs loglikelihood, num_fewshot (not recorded) vs 0"]
    generative = {**b, "results": [{**b["results"][0], "tags": {"scoring": "generate", "num_fewshot": "0"}}]}
    [reason] = compare_envelopes(generative, b).unpaired
    assert reason.reason == "scoring generate vs loglikelihood"
    assert len(compare_envelopes(b, b).rows) == 1  # recorded alike on both sides: paired


def test_quantization_and_the_seed_of_a_subset_define_a_result() -> None:
    result = {"name": "gsm8k", "metric": "accuracy", "value": 0.5, "unit": "ratio",
              "tags": {"n_limit": "50", "dataset": "gsm8k"}}
    config = result_config(result, {"seed": 1234, "quantization": "Q4_1"})
    assert config == {"quantization": "Q4_1", "dataset": "gsm8k", "limit": "50", "seed": "1234"}
    # over every record the seed picks nothing, so two seeds compare
    everything = {**result, "tags": {"n_limit": "all"}}
    assert "seed" not in result_config(everything, {"seed": 1})
    assert differences(result_config(everything, {"seed": 1}), result_config(everything, {"seed": 2})) == []
    assert differences(config, result_config(result, {"seed": 7, "quantization": "Q4_1"})) == ["seed 1234 vs 7"]


def test_namesakes_of_two_configurations_pair_with_their_own(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    a = put(store, 1, [cell(8, seed=1), cell(16, seed=2)])
    b = put(store, 2, [cell(16, seed=3), cell(8, center=80.0, seed=4)])
    rows = {r.config["gen_tokens"]: r for r in compare_runs(store, a, b).rows}
    assert rows["8"].verdict == "regressed" and rows["16"].verdict == "no change"
    code, out, _ = run(["compare", a, b, "--format", "csv"], store, capsys)
    lines = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {line["result"] for line in lines} == {"tok_per_sec_128 [gen_tokens=8]",
                                                               "tok_per_sec_128 [gen_tokens=16]"}
    assert {line["config"] for line in lines} == {"prompt_tokens=128, gen_tokens=8", "prompt_tokens=128, gen_tokens=16"}
    document = json.loads(run(["compare", a, b, "--json"], store, capsys)[1])
    assert sorted(r["label"] for r in document["rows"]) == ["tok_per_sec_128 [gen_tokens=16]",
                                                          "tok_per_sec_128 [gen_tokens=8]"]
    code, out, _ = run(["compare", a, b, "--format", "md"], store, capsys)
    assert code == 0 and "| tok_per_sec_128 [gen_tokens=8] | throughput |" in out and "🔴 regressed" in out


def test_format_flags_conflict_in_one_line(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    a = put(store, 1, [cell(8)])
    code, _, err = run(["compare", a, a, "--json", "--format", "csv"], store, capsys)
    assert code == 2 and err.count("\n") == 1
    code, _, err = run(["compare", a, a, "--format", "md", "--markdown", "-"], store, capsys)
    assert code == 2 and "--markdown" in err
