"""Quality suite pieces without a target: flags, code extraction, pass@k and MMLU aggregation."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.datasets.base import CodeSpec, DatasetInfo, Record
from mlx_benchmarks.errors import DatasetError, UsageError
from mlx_benchmarks.scoring.code_answer import code_program
from mlx_benchmarks.scoring.pass_at_k import pass_at_k
from mlx_benchmarks.suites.code_accuracy import CodeAccuracySuite, summarize_pass_at_k
from mlx_benchmarks.suites.evalplus import EvalPlusSuite
from mlx_benchmarks.suites.knowledge import summarize_mmlu
from mlx_benchmarks.suites.quality_common import Defaults, TaskRun, parse_options, user_prompt
from mlx_benchmarks.suites.reasoning import MC_METRICS, ReasoningSuite

INFO = DatasetInfo(name="t", source="hand-made", license="MIT", attribution="tests", sha256="0" * 64, count=0)


def parsed(suite: Any, argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    suite.add_arguments(parser)
    return vars(parser.parse_args(argv))


# ------------------------------------------------------------------ flags

def test_tasks_default_to_all_and_unknown_task_is_a_usage_error() -> None:
    suite = ReasoningSuite()
    assert suite.options(parsed(suite, [])).tasks == ("gsm8k", "arc_challenge")
    assert suite.options(parsed(suite, ["--tasks", "arc_challenge"])).tasks == ("arc_challenge",)
    with pytest.raises(UsageError, match=r"unknown task 'hellaswag'.*gsm8k, arc_challenge"):
        suite.validate_options(parsed(suite, ["--tasks", "gsm8k,hellaswag"]))


@pytest.mark.parametrize("argv", [["--limit", "0"], ["--concurrency", "0"], ["--temperature", "-1"],
                                  ["--top-p", "1.5"], ["--max-tokens", "0"]])
def test_bad_values_are_usage_errors(argv: list[str]) -> None:
    suite = ReasoningSuite()
    # refused by the flag's own type (argparse: exit 2) or by the suite's validation (UsageError: exit 2)
    with pytest.raises((UsageError, SystemExit)) as caught:
        suite.validate_options(parsed(suite, argv))
    assert not isinstance(caught.value, SystemExit) or caught.value.code == 2


def test_code_accuracy_defaults_sample_and_pick_k_that_fit() -> None:
    suite = CodeAccuracySuite()
    opts = suite.options(parsed(suite, []))
    assert (opts.samples, opts.k, opts.temperature, opts.top_p) == (10, (1, 5, 10), 0.8, 0.95)
    assert suite.options(parsed(suite, ["--samples", "3"])).k == (1,)
    assert suite.options(parsed(suite, ["--samples", "6", "--k", "5,1"])).k == (1, 5)
    with pytest.raises(UsageError, match="between 1 and --samples"):
        suite.validate_options(parsed(suite, ["--samples", "2", "--k", "1,5"]))


def test_evalplus_without_data_explains_where_the_files_come_from(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLX_BENCH_CACHE", str(tmp_path))  # nothing prepared
    suite = EvalPlusSuite()
    with pytest.raises(DatasetError, match=r"HumanEvalPlus\.jsonl\.gz.*MbppPlus\.jsonl\.gz.*--data PATH") as caught:
        suite.validate_options(parsed(suite, []))
    assert "\n" not in str(caught.value)


def test_prompts_hold_the_question_and_the_answer_format() -> None:
    mc = Record(id="x/1", task="arc_challenge", prompt="Which is a metal?", answer="B", choices=("wood", "iron", "glass"))
    text = user_prompt(mc)
    assert "A. wood\nB. iron\nC. glass" in text and "A, B or C" in text and "B" not in text.split("glass")[1][:3]
    gsm = Record(id="g/1", task="gsm8k", prompt="How many?", answer="3")
    assert user_prompt(gsm).startswith("Q: How many?\nA: Let's think step by step.")
    math_record = Record(id="m/1", task="math500", prompt="Find $x$.", answer="2")
    assert "\\boxed{}" in user_prompt(math_record)


# ------------------------------------------------------------------ code extraction

SPEC_PREFIX = 'def add(a, b):\n    """Add two numbers."""\n'


@pytest.mark.parametrize(("reply", "form", "runs_to"), [
    ("```python\ndef add(a, b):\n    return a + b\n```", "full", 5),
    ("Sure!\n```py\nimport math\n\ndef add(a, b):\n    return a + b\n```\nDone.", "full", 5),
    ("```\nreturn a + b\n```", "continuation", 5),  # a body flush left, inside a bare fence
    ("    return a + b", "continuation", 5),
    ("return a + b\n", "continuation", 5),
    ("result = a + b\n    return result", "continuation", 5),  # first line lost its indent
    ("```python\ndef helper():\n    pass\n```\n```python\ndef add(a, b):\n    return b + a\n```", "full", 5),
    ("```python\ndef add(a, b):\n    return a + b", "full", 5),  # unclosed fence (hit max tokens)
    ("Here is the code:\ndef add(a, b):\n    return a + b", "full", 5),
])
def test_code_program_shapes(reply: str, form: str, runs_to: int) -> None:
    answer = code_program(reply, entry_point="add", prompt_prefix=SPEC_PREFIX)
    assert answer.form == form
    namespace: dict[str, Any] = {}
    exec(compile(answer.program, "<answer>", "exec"), namespace)  # trusted, hand-written code
    assert namespace["add"](2, 3) == runs_to


def test_code_program_without_code_or_prefix() -> None:
    assert code_program("", entry_point="f").form == "none"
    mbpp = code_program("```python\ndef f(x):\n    return x\n```", entry_point="f")
    assert mbpp.program.strip() == "def f(x):\n    return x"


def test_code_program_keeps_prompt_helpers() -> None:
    prefix = "def helper(x):\n    return x * 2\n\n\ndef main(x):\n    \"\"\"Uses helper.\"\"\"\n"
    answer = code_program("```python\ndef main(x):\n    return helper(x) + 1\n```", entry_point="main",
                          prompt_prefix=prefix)
    namespace: dict[str, Any] = {}
    exec(compile(answer.program, "<answer>", "exec"), namespace)  # trusted, hand-written code
    assert namespace["main"](2) == 5


# ------------------------------------------------------------------ aggregation

def sample(pid: str, passed: bool | None, failure: str | None = None, subject: str | None = None,
           metric: str = "pass_at_1") -> dict[str, Any]:
    """A finished sample as the engine stores it; ``passed=None`` is a failed request."""
    detail: dict[str, Any] = {"failure": failure} if failure else {}
    if subject:
        detail["subject"] = subject
    return {"id": pid, "error": "TargetTimeout" if passed is None else None,
            "scores": {} if passed is None else {metric: float(passed)}, "detail": detail,
            "latency_ms": 100.0, "ttft_ms": 10.0, "prompt_tokens": 10, "completion_tokens": 5}


def test_pass_at_k_and_failure_rates_from_samples() -> None:
    samples = [sample("p1", True), sample("p1", False, "wrong_answer"), sample("p1", True),
               sample("p2", False, "timeout"), sample("p2", False, "syntax_error"), sample("p2", None)]
    opts = CodeAccuracySuite().options({"samples": 3, "k": "1,2"})
    results = {r.metric: r for r in summarize_pass_at_k(TaskRun("humaneval", INFO, opts, samples, 1.0))}
    # p2 has 2 scored samples (one request failed): it counts for pass@1 and pass@2
    assert results["pass_at_1"].value == pytest.approx((pass_at_k(3, 2, 1) + pass_at_k(2, 0, 1)) / 2)
    assert results["pass_at_2"].value == pytest.approx((pass_at_k(3, 2, 2) + 0.0) / 2)
    assert results["pass_at_1"].tags["n_errors"] == "1"
    assert results["failure_rate_timeout"].value == pytest.approx(1 / 5)
    assert results["failure_rate_wrong_answer"].value == pytest.approx(1 / 5)
    assert results["failure_rate_runtime_error"].value == 0.0
    assert results["failure_rate_syntax_error"].tags["n_syntax_error"] == "1"
    assert all(r.unit == "ratio" and r.decode_tokens_per_second for r in results.values())


def test_mmlu_macro_average_weighs_subjects_equally() -> None:
    def mc(pid: str, passed: bool | None, subject: str) -> dict[str, Any]:
        row = sample(pid, passed, subject=subject, metric="exact_match_flan_strict")
        row["scores"] = {m: v for m in MC_METRICS for v in row["scores"].values()}
        return row

    samples = [mc(f"a{i}", i < 3, "algebra") for i in range(4)]  # 3/4
    samples += [mc("b0", False, "biology")]  # 0/1
    samples += [mc("b1", None, "biology")]  # failed request
    opts = parse_options({}, ("mmlu",), Defaults())
    results = {(r.name, r.metric): r for r in summarize_mmlu(TaskRun("mmlu", INFO, opts, samples, 2.0))}
    for metric in MC_METRICS:
        assert results[("mmlu", f"{metric}_macro")].value == pytest.approx((0.75 + 0.0) / 2)
        assert results[("mmlu", metric)].value == pytest.approx(3 / 5)
        assert results[("mmlu_algebra", metric)].value == pytest.approx(0.75)
        assert results[("mmlu_biology", metric)].tags["n_errors"] == "1"
    algebra_se = float(results[("mmlu_algebra", "exact_match_flan_strict")].tags["stderr"])
    macro = results[("mmlu", "exact_match_flan_strict_macro")]
    assert float(macro.tags["stderr"]) == pytest.approx(math.sqrt(algebra_se**2) / 2, abs=1e-6)
    assert "mmlu_flan_cot_zeroshot" in macro.tags["reference"]
    assert results[("mmlu", "accuracy_robust")].tags["reference"] == "mlx-bench"


def test_code_spec_records_are_rendered_as_humaneval_or_mbpp() -> None:
    human = Record(id="h/0", task="humaneval", prompt=SPEC_PREFIX, answer="",
                   code=CodeSpec(entry_point="add", test="", canonical_solution="", prompt_prefix=SPEC_PREFIX))
    assert f"```python\n{SPEC_PREFIX}```" in user_prompt(human)
    mbpp = Record(id="m/0", task="mbpp", prompt="Add.\n\nassert add(1, 2) == 3", answer="",
                  code=CodeSpec(entry_point="add", test="assert add(1, 2) == 3", canonical_solution=""))
    assert "here is your task: Add.\n\nassert add(1, 2) == 3" in user_prompt(mbpp)
