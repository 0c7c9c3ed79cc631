"""``math-hard``: MATH-500, boxed final answers compared by normalisation, then symbolically.

``accuracy``: the last ``\\boxed{...}`` (else the text after "final answer is") is equivalent to the gold
answer, by Minerva-style normalisation or by math-verify's symbolic comparison (time-bounded).
``exact_match``: equal after normalisation alone, lm-eval ``minerva_math``'s ``exact_match``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.scoring.extract import extract_math_answer
from mlx_benchmarks.scoring.math_equiv import SymbolicChecker, math_equivalent, require_math_verify
from mlx_benchmarks.suites.eval_engine import ModelOutput, Scores
from mlx_benchmarks.suites.quality_common import Defaults, QualityOptions, QualitySuite, TaskRun, TaskSpec
from mlx_benchmarks.suites.reasoning import unparsed_count

SYMBOLIC_TIMEOUT_S = 5.0


def score_math(record: Record, output: ModelOutput, *, checker: SymbolicChecker | None) -> tuple[Scores, dict[str, Any]]:
    """Equivalence (normalised or symbolic) and normalised exact match of the extracted answer."""
    predicted = extract_math_answer(output.text)
    verdict = math_equivalent(predicted, record.answer, checker)
    scores = {"accuracy": float(verdict.equal), "exact_match": float(verdict.how == "normalized")}
    return scores, {"extracted": predicted, "gold": record.answer, "equivalence": verdict.how}


def summarize_math(run: TaskRun) -> list[Result]:
    how = [str((s.get("detail") or {}).get("equivalence")) for s in run.samples if not s.get("error")]
    tags = {"n_unparsed": unparsed_count(run.samples), "n_symbolic_matches": how.count("symbolic"),
            "n_symbolic_timeouts": how.count("timeout"), "equivalence_checker": "normalize+math-verify",
            "symbolic_timeout_s": SYMBOLIC_TIMEOUT_S}
    return [run.mean("accuracy", tags=tags), run.mean("exact_match", tags={"n_unparsed": tags["n_unparsed"]})]


class MathHardSuite(QualitySuite):
    """MATH-500 accuracy with boxed-answer extraction and symbolic equivalence."""

    name = "math-hard"
    description = "MATH-500: last \\boxed{} answer, Minerva normalisation + math-verify equivalence"
    task_names = ("math500",)
    defaults = Defaults(max_tokens=1024)

    def validate_options(self, options: Mapping[str, Any]) -> None:
        super().validate_options(options)
        require_math_verify()

    @contextmanager
    def resources(self, opts: QualityOptions) -> Iterator[dict[str, Any]]:
        with SymbolicChecker(timeout_s=SYMBOLIC_TIMEOUT_S) as checker:
            yield {"checker": checker}

    def task_spec(self, name: str, opts: QualityOptions, resources: dict[str, Any]) -> TaskSpec:
        return TaskSpec(name, ("accuracy", "exact_match"), partial(score_math, checker=resources.get("checker")),
                        summarize_math)
