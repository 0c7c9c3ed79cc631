"""Fuzzing every importer through ``mlx-bench import`` in process: any file gets exit 0, 2 or 3 (never 1), an
imported envelope never carries NaN or Infinity, and a non-finite figure is dropped with a line in errors[]."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlx_benchmarks.cli import import_cmd
from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import loads_strict
from mlx_benchmarks.errors import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from tests.fuzz.strategies import NUMBERS, SCALARS, TEXT, dumps, files, json_values, shaped

ANY = st.one_of(SCALARS, json_values(max_leaves=4))
NUMBER_OR_TEXT = st.one_of(NUMBERS, TEXT, st.floats(min_value=0, max_value=1e4))
METRICS = st.dictionaries(st.sampled_from(["acc,none", "acc_stderr,none", "exact_match,strict-match", "alias", "f1"]),
                          st.one_of(NUMBER_OR_TEXT, ANY), max_size=4)
LM_EVAL = shaped({
    "results": st.one_of(st.dictionaries(TEXT, st.one_of(METRICS, ANY), max_size=3), ANY),
    "config": st.one_of(shaped({"model_args": st.one_of(TEXT, ANY), "limit": ANY, "random_seed": NUMBERS,
                                "gen_kwargs": ANY}), ANY),
    "configs": ANY, "n-samples": ANY, "n-shot": ANY, "date": NUMBERS, "model_name": ANY,
    "total_evaluation_time_seconds": NUMBER_OR_TEXT,
})
VLLM = shaped({
    "request_throughput": NUMBER_OR_TEXT, "output_throughput": NUMBER_OR_TEXT, "total_token_throughput": NUMBER_OR_TEXT,
    "mean_ttft_ms": NUMBER_OR_TEXT, "p99_itl_ms": NUMBER_OR_TEXT, "std_tpot_ms": NUMBER_OR_TEXT,
    "duration": NUMBER_OR_TEXT, "completed": NUMBERS, "num_prompts": NUMBERS, "total_input_tokens": NUMBERS,
    "total_output_tokens": NUMBERS, "median_ttft_ms": NUMBERS, "date": TEXT, "model_id": ANY, "ttfts": ANY,
})
ROW = shaped({"avg_ts": NUMBER_OR_TEXT, "stddev_ts": NUMBER_OR_TEXT, "avg_ns": NUMBERS, "n_prompt": NUMBER_OR_TEXT,
              "n_gen": NUMBER_OR_TEXT, "n_depth": ANY, "samples_ts": ANY, "model_type": ANY, "model_filename": ANY,
              "test_time": TEXT, "cpu_info": ANY, "n_threads": ANY})
LLAMA_BENCH = st.one_of(st.lists(ROW, min_size=1, max_size=4), ROW)
KINDS = {"lm-eval": (LM_EVAL, "reasoning"), "vllm": (VLLM, "throughput"), "llama-bench": (LLAMA_BENCH, "throughput")}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # system detection is not under test and costs ~15 ms a call: pin it for the module
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(import_cmd, "detect_system", lambda: {"os": "Linux", "chip": "x86_64", "memory_gb": 8})
        patch.setenv("LANGUAGE", "C")  # argparse's gettext otherwise stats locale folders on every call
        yield tmp_path_factory.mktemp("fuzz-import")


def import_file(scratch: Path, kind: str, content: bytes) -> tuple[int, str, str]:
    """(exit code, stdout: the envelope as JSON, stderr)."""
    path = scratch / f"{kind}.json"
    path.write_bytes(content)
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["import", "--kind", kind, str(path), "--suite", KINDS[kind][1], "--no-store", "--git-sha",
                     "abcdef0", "--json"])
    return code, out.getvalue(), err.getvalue()


def check(scratch: Path, kind: str, content: bytes) -> None:
    code, out, err = import_file(scratch, kind, content)
    assert code in (EXIT_OK, EXIT_USAGE, EXIT_INVALID), err
    if code == EXIT_OK:
        envelope: dict[str, Any] = loads_strict(out)  # no NaN in what was imported
        assert envelope["results"] or envelope.get("skipped")
    else:
        assert err.count("\n") == 1 and err.startswith("mlx-bench: error: ") and not out


@given(files(LM_EVAL))
def test_lm_eval_import_answers_every_file_with_a_documented_code(scratch: Path, content: bytes) -> None:
    check(scratch, "lm-eval", content)


@given(files(VLLM))
def test_vllm_import_answers_every_file_with_a_documented_code(scratch: Path, content: bytes) -> None:
    check(scratch, "vllm", content)


@given(files(LLAMA_BENCH))
def test_llama_bench_import_answers_every_file_with_a_documented_code(scratch: Path, content: bytes) -> None:
    check(scratch, "llama-bench", content)


def test_llama_bench_nan_is_dropped_and_said_and_all_nan_is_refused(scratch: Path) -> None:
    good = {"avg_ts": 50.5, "n_prompt": 0, "n_gen": 128, "model_type": "llama 1B Q4_0", "samples_ts": [50.0, float("nan")]}
    bad = {"avg_ts": "nan", "n_prompt": 512, "n_gen": 0}
    code, out, _ = import_file(scratch, "llama-bench", dumps([good, bad]))
    assert code == EXIT_OK
    envelope = json.loads(out)
    assert [r["name"] for r in envelope["results"]] == ["tg128"]
    assert envelope["results"][0]["raw"]["trials"] == [50.0, None]
    assert any("pp512 avg_ts: 'nan' is not a finite number; dropped" in e for e in envelope["errors"])
    assert any("2 non-finite numbers (NaN, Infinity) replaced by null" in e for e in envelope["errors"]), "trials + row"
    code, _, err = import_file(scratch, "llama-bench", dumps([bad]))
    assert code == EXIT_INVALID and "no llama-bench test has a finite avg_ts" in err


def test_vllm_and_lm_eval_nan_fields_are_dropped_and_said(scratch: Path) -> None:
    code, out, _ = import_file(scratch, "vllm", dumps({"request_throughput": 2.0, "mean_ttft_ms": float("nan"),
                                                       "std_itl_ms": float("inf")}))
    assert code == EXIT_OK
    envelope = json.loads(out)
    assert [r["name"] for r in envelope["results"]] == ["benchmark_serving"]
    assert sum("is not a finite number; dropped" in e for e in envelope["errors"]) == 2
    lm_eval = {"results": {"gsm8k": {"exact_match,strict-match": 0.5, "acc,none": float("nan")}}}
    code, out, _ = import_file(scratch, "lm-eval", dumps(lm_eval))
    assert code == EXIT_OK
    envelope = json.loads(out)
    assert [r["metric"] for r in envelope["results"]] == ["exact_match_strict"]
    assert envelope["errors"] == ["gsm8k acc,none: 'nan' is not a finite number; dropped"]
