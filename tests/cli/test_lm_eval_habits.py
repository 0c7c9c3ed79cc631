"""What lm-eval users type works (issue #20): ``--num_fewshot``, ``--log_samples``, ``--output_path``,
``--limit 0.1`` and ``--tasks`` without a suite; ``mlx-bench samples RUN`` reads the per-sample records; the
id tail that ``run`` prints is accepted by ``show`` and ``samples``. Runs use the one-task test suite over the
doubling test target, in process."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from tests.cli.rendering import rendered

from mlx_benchmarks.cli import run_cmd
from mlx_benchmarks.cli.main import main
from mlx_benchmarks.datasets.api import select
from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.errors import EXIT_USAGE, StoreError
from mlx_benchmarks.store import Store, resolve_run_id
from mlx_benchmarks.suites import registry

DOUBLER = "py:tests.doubles.echo_target:doubling_target"
HALF_WRONG = "py:tests.cli.test_lm_eval_habits:half_wrong_target"


def half_wrong_target(model: str | None = None) -> object:
    """TEST DOUBLE: the doubling target, wrong on odd numbers."""
    from tests.doubles.echo_target import ScriptedTarget

    def answer(prompt: str) -> str:
        number = int(prompt.split()[2])
        return f"The answer is {2 * number + (number % 2)}"

    return ScriptedTarget(answer, model=model or "half-wrong")


@pytest.fixture
def arith(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.SUITES, "reasoning", "tests.doubles.echo_target:ArithSuite")


def run(store: Path, *flags: str) -> int:
    return main(["run", "reasoning", "--store", str(store), "--git-sha", "abcdef0", *flags])


def test_lm_eval_spellings_parse_as_ours() -> None:
    args = run_cmd.parse(["reasoning", "--scoring", "loglikelihood", "--num_fewshot", "5", "--limit", "0.1",
                          "--log_samples", "--output_path=out"])
    assert (args.num_fewshot, args.limit, args.log_samples, args.output_path) == (5, 0.1, True, "out")
    assert run_cmd.parse(["--tasks", "hellaswag,piqa", "--scoring", "loglikelihood"]).suite == "reasoning"
    assert run_cmd.parse(["--tasks", "gsm8k", "--limit", "3"]).suite == "reasoning"  # a flag before no suite


def test_tasks_across_suites_are_refused_in_one_line_naming_each_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--tasks", "gsm8k,mmlu,ifbench"]) == EXIT_USAGE
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "mlx-bench run reasoning --tasks gsm8k" in err and "mlx-bench run knowledge --tasks mmlu,ifbench" in err


def test_limit_as_a_fraction_takes_that_share_of_each_task() -> None:
    records = [Record(id=f"r{i}", task="t", prompt="", answer="") for i in range(1319)]
    assert len(select(records, 0.1, 1234)) == math.ceil(131.9) == 132
    assert select(records, 0.1, 1234) == select(records, 132, 1234)  # the same seeded subset as the count
    for bad in ("0", "1.5", "-0.2", "x"):
        with pytest.raises(SystemExit):
            run_cmd.parse(["reasoning", "--limit", bad])


def test_output_path_and_log_samples_after_a_run(tmp_path: Path, arith: None, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    assert run(store, "--target", DOUBLER, "--limit", "5", "--output_path", str(tmp_path / "out"), "--log_samples") == 0
    out = capsys.readouterr().out
    (run_id,) = Store(store).run_ids()
    envelope = json.loads((tmp_path / "out" / f"{run_id}.json").read_text())
    assert envelope == Store(store).envelope(run_id)
    lines = (tmp_path / "out" / f"{run_id}.samples.jsonl").read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line)["score"] == 1.0 for line in lines)
    assert f"mlx-bench samples {run_id}" in " ".join(out.split())
    # a .json path is the envelope's file; a path whose folder is missing is refused before any work
    assert run(store, "--target", DOUBLER, "--limit", "2", "--output-path", str(tmp_path / "one.json")) == 0
    assert (tmp_path / "one.json").is_file() and (tmp_path / "one.samples.jsonl").is_file()
    assert run(store, "--target", DOUBLER, "--output-path", str(tmp_path / "no" / "such" / "dir")) == EXIT_USAGE
    assert len(Store(store).run_ids()) == 2


def test_show_and_samples_take_the_tail_run_prints(tmp_path: Path, arith: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    assert run(store, "--target", HALF_WRONG, "--limit", "6") == 0
    out = capsys.readouterr().out
    hint = next(line for line in out.splitlines() if "mlx-bench show " in line)
    tail = hint.split("mlx-bench show ", 1)[1].split()[0]
    (run_id,) = Store(store).run_ids()
    assert run_id.endswith(tail) and not run_id.startswith(tail)
    assert main(["show", tail, "--store", str(store), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["suite"] == "reasoning"

    assert main(["samples", tail, "--store", str(store), "--format", "jsonl"]) == 0
    samples = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(samples) == 6 and isinstance(samples[0]["scores"], dict)
    assert main(["samples", tail, "--store", str(store), "--failed", "--format", "jsonl"]) == 0
    failed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert failed and all(s["score"] == 0.0 for s in failed) and len(failed) == sum(s["score"] < 1 for s in samples)
    assert main(["samples", tail, "--store", str(store), "--task", "arith", "--limit", "2", "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert len(csv) == 3 and "score" in csv[0].split(",")
    assert main(["samples", tail, "--store", str(store), "--task", "nope"]) == EXIT_USAGE
    assert "this run has samples of arith" in capsys.readouterr().err


def test_samples_table_fits_80_columns(tmp_path: Path, arith: None, capsys: pytest.CaptureFixture[str]) -> None:
    from mlx_benchmarks.cli.formats import print_sections
    from mlx_benchmarks.cli.samples_cmd import decoded, section

    store = tmp_path / "store"
    assert run(store, "--target", HALF_WRONG, "--limit", "4") == 0
    (run_id,) = Store(store).run_ids()
    samples = [decoded(s) for s in Store(store).samples(run_id)]
    text = rendered(lambda out: print_sections(out, [section(samples, "samples")]), 80)
    assert max(len(line) for line in text.splitlines()) <= 80 and text.count("arith") == 4


def test_resolve_by_unique_prefix_or_tail() -> None:
    ids = ["run-20260101T000000-abc-reasoning-m-1234702b", "run-20260101T000001-abc-reasoning-m-99990000",
           "run-20260102T000000-abc-reasoning-m-5555702b"]
    assert resolve_run_id(ids, "1234702b", where="s") == ids[0]
    assert resolve_run_id(ids, "run-20260102", where="s") == ids[2]
    with pytest.raises(StoreError, match="matches 2 runs"):
        resolve_run_id(ids, "702b", where="s")
    with pytest.raises(StoreError, match="no stored run matches"):
        resolve_run_id(ids, "zzzz", where="s")
