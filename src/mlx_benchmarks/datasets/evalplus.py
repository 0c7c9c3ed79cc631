"""HumanEval+ and MBPP+ (evalplus) from the release file the user downloads: ``--data PATH``.

evalplus fetches its data at run time and no package registry carries it, so on a machine with
internet download the release file once and hand it over:

- HumanEval+: https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz
- MBPP+: https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz

then ``mlx-bench datasets prepare humaneval_plus --data HumanEvalPlus.jsonl.gz``. Each line holds
``task_id, prompt, entry_point, canonical_solution, base_input, plus_input, atol`` (and ``contract``,
``assertion``...). ``code.test`` checks the base inputs and ``code.plus_test`` the extra inputs, both
by differential testing against the reference (see ``evalplus_oracle``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlx_benchmarks.datasets.base import CodeSpec, Record
from mlx_benchmarks.datasets.evalplus_oracle import differential_test
from mlx_benchmarks.datasets.jsonl import file_sha256
from mlx_benchmarks.datasets.sources import read_jsonl_gz
from mlx_benchmarks.errors import DatasetError

FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "base_input", "plus_input", "atol")


@dataclass(frozen=True)
class EvalPlus:
    """One evalplus dataset: HumanEval+ or MBPP+."""

    name: str
    dataset: str  # evalplus's own key: "humaneval" or "mbpp"
    file_stem: str  # "HumanEvalPlus" or "MbppPlus"
    url: str
    count: int  # tasks in the full release (the mini and no-extreme variants keep them all)
    attribution: str
    license: str = "Apache-2.0"
    needs_data: bool = True

    def source(self, data: Path | None) -> str:
        if data is None:
            return f"evalplus release {self.url} (user file, --data PATH)"
        return f"evalplus release file {self.resolve(data).name} (sha256 {file_sha256(self.resolve(data))})"

    def how_to_get(self) -> str:
        return (
            f"{self.name} needs evalplus's release file, which no registry carries: on a machine with internet "
            f"download {self.url}, copy it here, then run: mlx-bench datasets prepare {self.name} "
            f"--data {self.file_stem}.jsonl.gz"
        )

    def resolve(self, data: Path) -> Path:
        """The release file itself, or the one inside a folder."""
        if data.is_dir():
            found = sorted(
                p for p in data.iterdir() if p.name.startswith(self.file_stem) and ".jsonl" in p.name
            )
            if not found:
                raise DatasetError(f"no {self.file_stem}*.jsonl[.gz] in {data}; {self.how_to_get()}")
            return found[-1]
        return data

    def extract(self, data: Path | None) -> list[Record]:
        if data is None:
            raise DatasetError(self.how_to_get())
        path = self.resolve(data)
        if not path.exists():
            raise DatasetError(f"{path}: no such file; {self.how_to_get()}")
        records = [self.record(item, f"{path}:{n}") for n, item in enumerate(read_jsonl_gz(path), start=1)]
        if not records:
            raise DatasetError(f"{path}: no tasks")
        if len(records) != len({r.id for r in records}):
            raise DatasetError(f"{path}: duplicate task ids")
        return records

    def record(self, item: dict[str, Any], where: str) -> Record:
        missing = [key for key in FIELDS if key not in item]
        if missing:
            raise DatasetError(f"{where}: not an evalplus {self.file_stem} line (missing {missing})")
        task_id = str(item["task_id"])
        prefix = "HumanEval/" if self.dataset == "humaneval" else "Mbpp/"
        if not task_id.startswith(prefix):
            raise DatasetError(
                f"{where}: task_id {task_id!r} is not {prefix}N; is this the {self.file_stem} file?"
            )
        number = int(task_id.rsplit("/", 1)[1])
        prompt, entry = str(item["prompt"]), str(item["entry_point"])
        reference = prompt + str(item["canonical_solution"])
        if not isinstance(item["base_input"], list) or not isinstance(item["plus_input"], list):
            raise DatasetError(f"{where}: base_input and plus_input must be lists")

        def test(inputs: list[Any], label: str) -> str:
            return differential_test(
                dataset=self.dataset,
                entry_point=entry,
                reference_source=reference,
                inputs=inputs,
                atol=float(item["atol"] or 0),
                task_number=number,
                label=label,
            )

        if self.dataset == "humaneval":
            question, prefix_code = prompt, prompt
        else:  # MBPP+ prompts are a docstring: the task text and one example assert
            question, prefix_code = prompt.strip().strip('"').strip(), ""
        return Record(
            id=f"{self.name}/{number}",
            task=self.name,
            prompt=question,
            answer="",
            code=CodeSpec(
                entry_point=entry,
                test=test(item["base_input"], "base"),
                canonical_solution=reference,
                prompt_prefix=prefix_code,
                plus_test=test(item["plus_input"], "plus"),
            ),
            meta={
                "task_id": task_id,
                "atol": float(item["atol"] or 0),
                "plus_inputs": len(item["plus_input"]),
            },
        )


HUMANEVAL_PLUS = EvalPlus(
    name="humaneval_plus",
    dataset="humaneval",
    file_stem="HumanEvalPlus",
    url="https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz",
    count=164,
    attribution="Liu et al. 2023, Is Your Code Generated by ChatGPT Really Correct? (EvalPlus); HumanEval by Chen et al. 2021",
)
MBPP_PLUS = EvalPlus(
    name="mbpp_plus",
    dataset="mbpp",
    file_stem="MbppPlus",
    url="https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz",
    count=378,
    attribution="Liu et al. 2023, Is Your Code Generated by ChatGPT Really Correct? (EvalPlus); MBPP by Austin et al. 2021",
)
