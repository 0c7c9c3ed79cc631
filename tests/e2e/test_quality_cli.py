"""Whole-CLI quality runs against the answer-key test doubles (tests/doubles/gold_target.py).

The gold double must score 1.0 and the wrong double 0.0 through the real path: flags, dataset subset,
engine, scorer, sandbox, envelope validation, store and samples.parquet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.datasets import load_dataset, select
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.sandbox.run import sandbox_kind
from mlx_benchmarks.store import Store
from tests.datasets.test_evalplus import evalplus_sample_humaneval, evalplus_sample_mbpp, write_gz
from tests.doubles.gold_target import failure_kind, request_fails

REPO = Path(__file__).resolve().parents[2]
DOUBLES = "py:tests.doubles.gold_target:"
QUICK = ["--git-sha", "abcdef0"]
HEADLINES = {"exact_match_strict", "exact_match_flexible", "exact_match_lenient", "accuracy", "accuracy_robust",
             "exact_match_flan_strict", "exact_match_flan_flexible", "exact_match_flan_strict_macro",
             "exact_match_flan_flexible_macro", "accuracy_robust_macro", "exact_match",
             "math_verify", "exact_match_boxed", "pass_at_1", "pass_at_2", "pass_at_1_base", "pass_at_1_plus"}


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``mlx-bench`` in a child process from the repo root, with ``tests`` importable."""
    merged = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
              **(env or {})}
    return subprocess.run([sys.executable, "-m", "mlx_benchmarks.cli.main", *args], capture_output=True, text=True,
                          cwd=REPO, env=merged, timeout=timeout)


def only_run(store: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    s = Store(store)
    (run_id,) = s.run_ids()
    return s.envelope(run_id), s.samples(run_id)


def scored(envelope: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {(r["name"], r["metric"]): r["value"] for r in envelope["results"] if r["metric"] in HEADLINES}


@pytest.mark.parametrize(("suite", "flags", "n_samples"), [
    ("reasoning", ["--limit", "4"], 8),
    ("knowledge", ["--limit", "6"], 6),
    ("math-hard", ["--limit", "4"], 4),
    ("coding", ["--limit", "3"], 6),
    ("code-accuracy", ["--limit", "2", "--samples", "2", "--k", "1,2"], 8),
])
def test_gold_target_scores_one_through_the_cli(tmp_path: Path, suite: str, flags: list[str], n_samples: int) -> None:
    done = cli("run", suite, "--target", DOUBLES + "gold_target", "--store", str(tmp_path), *flags, *QUICK)
    assert done.returncode == 0, done.stderr
    envelope, samples = only_run(tmp_path)
    validate(envelope)
    assert envelope["suite"] == suite and envelope["model"] == "gold-answer-double" and envelope["seed"] == 1234
    assert envelope["gen_kwargs"]["max_gen_toks"] > 0 and "temperature" in envelope["gen_kwargs"]
    values = scored(envelope)
    assert values and set(values.values()) == {1.0}, values
    assert envelope["errors"] == []
    for result in envelope["results"]:
        assert result["unit"] == "ratio" and result["duration_seconds"] > 0
        assert result["tags"]["dataset_sha256"] and result["tags"]["dataset_license"]
        if result["metric"].startswith("failure_rate_"):
            assert result["value"] == 0.0
        else:
            assert "stderr" in result["tags"] and int(result["tags"]["n_samples"]) > 0
            assert result["decode_tokens_per_second"] > 0 and result["first_token_latency_ms"] > 0
        assert result["tags"]["n_with_reasoning"] == "0"
        if suite in ("coding", "code-accuracy"):
            assert result["tags"]["sandbox"] == sandbox_kind()
    assert len(samples) == n_samples
    for row in samples:
        assert row["response"] and row["prompt_hash"] and row["score"] == 1.0 and row["error"] is None
        assert row["latency_ms"] > 0 and row["completion_tokens"] > 0 and row["extracted"]


def test_wrong_target_scores_zero(tmp_path: Path) -> None:
    for suite, flags in (("reasoning", ["--limit", "5"]), ("math-hard", ["--limit", "3"]),
                         ("coding", ["--limit", "2"]), ("knowledge", ["--limit", "4"])):
        store = tmp_path / suite
        assert main(["run", suite, "--target", DOUBLES + "wrong_target", "--store", str(store), *flags, *QUICK]) == 0
        envelope, samples = only_run(store)
        assert set(scored(envelope).values()) == {0.0}, (suite, scored(envelope))
        assert all(row["score"] == 0.0 and row["error"] is None for row in samples)


def test_think_blocks_are_stripped_and_counted(tmp_path: Path) -> None:
    code = main(["run", "reasoning", "--tasks", "gsm8k", "--target", DOUBLES + "thinking_gold_target",
                 "--limit", "3", "--store", str(tmp_path), *QUICK])
    assert code == 0
    envelope, samples = only_run(tmp_path)
    assert [r["name"] for r in envelope["results"]] == ["gsm8k"] * 3  # --tasks picked one task
    assert scored(envelope)[("gsm8k", "exact_match_strict")] == 1.0
    assert {r["tags"]["think_rule"] for r in envelope["results"]} == {"after the last </think>, else the whole reply"}
    assert all(row["think_stripped"] and row["reasoning_chars"] > 0 for row in samples)
    assert {r["tags"]["n_with_reasoning"] for r in envelope["results"]} == {"3"}


def test_code_accuracy_reports_the_failure_taxonomy(tmp_path: Path) -> None:
    limit = 6
    subset = select(load_dataset("humaneval"), limit, 1234)
    expected = [failure_kind(r) for r in subset]
    assert len(set(expected)) >= 3  # the seeded subset exercises several failure kinds
    code = main(["run", "code-accuracy", "--tasks", "humaneval", "--target", DOUBLES + "failing_code_target",
                 "--limit", str(limit), "--samples", "1", "--store", str(tmp_path), *QUICK])
    assert code == 0
    envelope, samples = only_run(tmp_path)
    results = {r["metric"]: r for r in envelope["results"]}
    assert results["pass_at_1"]["value"] == 0.0
    for kind in ("syntax_error", "runtime_error", "wrong_answer", "timeout"):
        assert results[f"failure_rate_{kind}"]["value"] == pytest.approx(expected.count(kind) / limit), kind
        assert results[f"failure_rate_{kind}"]["tags"][f"n_{kind}"] == str(expected.count(kind))
    assert {row["id"]: json.loads(row["detail"])["failure"] for row in samples} == {r.id: failure_kind(r) for r in subset}


def test_unknown_task_fails_before_any_work(tmp_path: Path) -> None:
    done = cli("run", "reasoning", "--tasks", "gsm8k,winogrande", "--target", DOUBLES + "gold_target",
               "--store", str(tmp_path), *QUICK)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "unknown task 'winogrande'" in done.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "inprogress").exists()


def test_evalplus_without_data_is_one_line_exit_2_and_nothing_stored(tmp_path: Path) -> None:
    done = cli("run", "evalplus", "--target", DOUBLES + "gold_target", "--store", str(tmp_path), *QUICK,
               env={"MLX_BENCH_CACHE": str(tmp_path / "empty-cache")})
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("mlx-bench: error: evalplus needs") and "HumanEvalPlus.jsonl.gz" in line
    assert Store(tmp_path).run_ids() == [] and not (tmp_path / "inprogress").exists()


def test_evalplus_with_data_scores_base_and_plus(tmp_path: Path) -> None:
    data = tmp_path / "evalplus"
    data.mkdir()
    write_gz(data / "HumanEvalPlus-v0.1.10.jsonl.gz", evalplus_sample_humaneval())
    write_gz(data / "MbppPlus-v0.2.0.jsonl.gz", evalplus_sample_mbpp())
    # a private dataset cache: the user files are cached under their dataset names
    env = {"MLX_BENCH_CACHE": str(tmp_path / "cache"), "GOLD_TARGET_DATA": str(data)}
    for target, value in (("gold_target", 1.0), ("wrong_target", 0.0)):
        store = tmp_path / target
        done = cli("run", "evalplus", "--data", str(data), "--target", DOUBLES + target, "--store", str(store),
                   *QUICK, env=env)
        assert done.returncode == 0, done.stderr
        envelope, samples = only_run(store)
        assert scored(envelope) == {(task, metric): value for task in ("humaneval_plus", "mbpp_plus")
                                    for metric in ("pass_at_1_base", "pass_at_1_plus")}
        assert len(samples) == 3
        assert all("evalplus release file" in r["tags"]["dataset_source"] for r in envelope["results"])
    # once cached, the files are found without --data
    again = cli("run", "evalplus", "--tasks", "mbpp_plus", "--target", DOUBLES + "gold_target",
                "--store", str(tmp_path / "cached"), *QUICK, env=env)
    assert again.returncode == 0, again.stderr
    assert set(scored(only_run(tmp_path / "cached")[0]).values()) == {1.0}


def test_user_records_file_replaces_the_dataset(tmp_path: Path) -> None:
    rows = [{"id": f"mine/{n}", "task": "gsm8k", "prompt": f"What is {n} plus {n}?", "answer": str(2 * n)}
            for n in range(1, 4)]
    rows.append({"id": "mine/mc", "task": "arc_challenge", "prompt": "Pick B.", "answer": "B", "choices": ["x", "y"]})
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    done = cli("run", "reasoning", "--data", str(data), "--target", DOUBLES + "gold_target", "--store",
               str(tmp_path / "store"), *QUICK, env={"GOLD_TARGET_DATA": str(data)})
    assert done.returncode == 0, done.stderr
    envelope, samples = only_run(tmp_path / "store")
    assert set(scored(envelope).values()) == {1.0}
    assert sorted(row["id"] for row in samples) == ["mine/1", "mine/2", "mine/3", "mine/mc"]
    tags = envelope["results"][0]["tags"]
    assert tags["dataset_source"] == f"user file {data}" and len(tags["dataset_sha256"]) == 64
    missing = cli("run", "knowledge", "--data", str(data), "--target", DOUBLES + "gold_target", "--store",
                  str(tmp_path / "store2"), *QUICK)
    assert missing.returncode == 2 and "no records with task 'mmlu'" in missing.stderr
    assert not (tmp_path / "store2" / "inprogress").exists()  # refused before any work


def test_failed_requests_are_counted_not_scored(tmp_path: Path) -> None:
    limit = 9
    subset = select(load_dataset("gsm8k"), limit, 1234)
    failing = sum(request_fails(r) for r in subset)
    assert 0 < failing < limit
    code = main(["run", "reasoning", "--tasks", "gsm8k", "--target", DOUBLES + "flaky_gold_target", "--limit",
                 str(limit), "--store", str(tmp_path), *QUICK])
    assert code == 0
    envelope, samples = only_run(tmp_path)
    for result in envelope["results"]:
        assert result["value"] == 1.0  # the failed requests did not count as wrong answers
        assert result["tags"]["n_errors"] == str(failing) and result["tags"]["n_samples"] == str(limit - failing)
    assert len(samples) == limit and sum(1 for row in samples if row["error"]) == failing
    assert all(row["score"] is None for row in samples if row["error"])
    assert any(f"{failing} of {limit} samples failed" in line for line in envelope["errors"])
