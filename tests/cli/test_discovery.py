"""Finding your way as llama-bench, lm-eval and GuideLLM users expect (issue #20): ``mlx-bench tasks`` and
``run --tasks list``, unknown tasks answered with the suite that has them, every suite's ``--help`` naming its
tasks, ``datasets list`` with sizes and task names before anything is extracted, and "did you mean" for
misspelt commands, flags and suites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.rendering import rendered

from mlx_benchmarks.agents.tasks import TASKS as AGENT_TASKS
from mlx_benchmarks.cli import run_cmd
from mlx_benchmarks.cli.main import main
from mlx_benchmarks.datasets import bfcl
from mlx_benchmarks.datasets.registry import SIZES
from mlx_benchmarks.errors import EXIT_USAGE, UsageError
from mlx_benchmarks.suites.instruction_following import IF_TASKS
from mlx_benchmarks.suites.knowledge import KnowledgeSuite
from mlx_benchmarks.suites.quant_quality import QUANT_TASKS
from mlx_benchmarks.suites.registry import get_suite


def expected_tasks() -> set[tuple[str, str]]:
    """Every (suite, --tasks name), read from the suites' own definitions."""
    out = set()
    for suite in ("reasoning", "knowledge", "math-hard", "coding", "code-accuracy", "evalplus"):
        instance = get_suite(suite)
        for task in (*instance.task_names, *getattr(instance, "loglik_task_names", ())):  # type: ignore[attr-defined]
            out.add((suite, task))
    out |= {("knowledge", t) for t in (*IF_TASKS, *QUANT_TASKS)}
    out |= {("tool-calling", c) for c in bfcl.CATEGORIES} | {("framework-eval", t.id) for t in AGENT_TASKS}
    return out


def test_tasks_lists_every_task_with_scoring_size_licence_and_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["suite"], r["task"]) for r in rows} == expected_tasks()
    by_key = {(r["suite"], r["task"]): r for r in rows}
    assert by_key["reasoning", "arc_challenge"]["scoring"] == ["generative", "loglikelihood"]
    assert by_key["reasoning", "arc_easy"]["scoring"] == ["loglikelihood"]
    assert by_key["knowledge", "kl_divergence"]["scoring"] == ["logits"]
    assert by_key["reasoning", "gsm8k"]["n"] == 1319 and by_key["knowledge", "mmlu"]["n"] == 14042
    assert sum(by_key["tool-calling", c]["n"] for c in bfcl.CATEGORIES) == SIZES["bfcl"]
    assert all(r["n"] and r["license"] and r["source"] for r in rows), [r for r in rows if not r["n"]]


def test_tasks_table_fits_80_columns_and_other_formats(capsys: pytest.CaptureFixture[str]) -> None:
    from mlx_benchmarks.cli.formats import print_sections
    from mlx_benchmarks.cli.tasks_cmd import rows, sections

    text = rendered(lambda out: print_sections(out, sections(rows())), 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "arc_easy" in text and "live_parallel_multiple" in text and "not shown" not in text
    assert main(["tasks", "--suite", "knowledge", "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("task,suite,scoring") and len(csv) == 1 + 7
    assert main(["tasks", "--format", "md"]) == 0 and "| ifbench |" in capsys.readouterr().out
    # lm-eval's spelling prints the same list
    assert main(["run", "reasoning", "--tasks", "list"]) == 0
    out = capsys.readouterr().out
    assert "hellaswag" in out and "mmlu" not in out


@pytest.mark.parametrize(("argv", "holder"), [
    (["knowledge", "--tasks", "arc_easy"], "reasoning with --scoring loglikelihood"),
    (["knowledge", "--tasks", "arc_easy", "--scoring", "loglikelihood"], "reasoning with --scoring loglikelihood"),
    (["reasoning", "--tasks", "mmlu"], "knowledge"),
    (["reasoning", "--tasks", "hellaswag"], "mlx-bench run reasoning --scoring loglikelihood --tasks hellaswag"),
    (["math-hard", "--tasks", "gsm8k"], "reasoning"),
    (["tool-calling", "--tasks", "gsm8k"], "reasoning"),
    (["framework-eval", "--tasks", "ifbench"], "knowledge"),
    (["reasoning", "--tasks", "gsm8"], "did you mean gsm8k?"),
])
def test_a_task_of_another_suite_names_that_suite(argv: list[str], holder: str) -> None:
    args = run_cmd.parse(argv)
    options = run_cmd.build_request(args, None).options
    with pytest.raises(UsageError, match="unknown") as raised:
        get_suite(args.suite).validate_options(options)
    assert holder in str(raised.value) and "\n" not in str(raised.value)


def test_every_suite_help_lists_its_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "knowledge", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for task in ("mmlu", *IF_TASKS, *QUANT_TASKS, *KnowledgeSuite.loglik_task_names):
        assert task in help_text, task
    for suite, task in expected_tasks():
        with pytest.raises(SystemExit):
            main(["run", suite, "--help"])
        help_text = "".join(capsys.readouterr().out.split())  # argparse may break a name at its hyphen
        assert task.replace("-", "") in help_text.replace("-", ""), (suite, task)


def test_datasets_list_shows_sizes_and_task_names_before_extraction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLX_BENCH_CACHE", str(tmp_path / "empty-cache"))
    assert main(["datasets", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert not any(row["cached"] for row in rows.values())
    assert {name for name, row in rows.items() if row["count"] is None} == {"jsonl"}  # a user's file
    assert rows["arc_easy_rc0"]["tasks"] == ["arc_easy"] == rows["arc_easy_rc5"]["tasks"]
    assert rows["ppl_hamlet"]["tasks"] == ["perplexity", "kl_divergence"]
    # the listing's names (kept in the dataset registry, so it imports no suite) are the suites' own
    from mlx_benchmarks.suites.catalog import dataset_tasks

    for name, users in dataset_tasks().items():
        assert rows[name]["tasks"] == list(dict.fromkeys(u.rsplit(" (", 1)[0] for u in users)), name
    assert main(["datasets", "list"]) == 0
    table = capsys.readouterr().out
    line = next(line for line in table.splitlines() if line.startswith("hellaswag_rc0"))
    assert "10,042" in line and "hellaswag" in line.split("10,042", 1)[1]


@pytest.mark.parametrize(("argv", "hint"), [
    (["runs", "--formt", "json"], "did you mean --format?"),
    (["datsets", "list"], "did you mean datasets?"),
    (["datasets", "lst"], "did you mean list?"),
    (["run", "throughput", "--prompt-lenghts", "64"], "did you mean --prompt-lengths?"),
    (["run", "thruput"], "did you mean throughput?"),
    (["run", "reasoning", "--limt", "3"], "did you mean --limit?"),
])
def test_misspelt_commands_flags_and_suites_get_did_you_mean(argv: list[str], hint: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(str(exc.code))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_USAGE and len(err) == 1 and hint in err[0], err
