"""``math-hard``: MATH-500, boxed final answers compared by normalisation, then symbolically.

- ``accuracy`` (ours, the headline): the last ``\\boxed{...}`` (else the text after "final answer is") is
  equivalent to the gold answer, by our normalisation or by math-verify's symbolic comparison (time-bounded);
- ``exact_match``: lm-eval 0.4.13 ``minerva_math``'s exact match exactly: the answer after "Final Answer: The
  final answer is" (Minerva's format, which our prompt does not ask for), Minerva's normalisation, ``is_equiv``;
- ``math_verify``: lm-eval ``minerva_math``'s ``math_verify``: math-verify on the whole reference solution
  against the whole reply;
- ``exact_match_boxed`` (ours): Minerva's normalisation and ``is_equiv`` on the reply's last ``\\boxed{}``.

Thinking rule, every metric: the reply after its last ``</think>``; without one, the whole reply. The
lm-eval metrics also cut it at the task's stop sequence "Problem:", as lm-eval's request would have.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.scoring import minerva
from mlx_benchmarks.scoring.extract import extract_math_answer
from mlx_benchmarks.scoring.lm_eval_filters import reply_view
from mlx_benchmarks.scoring.math_equiv import SymbolicChecker, math_equivalent, require_math_verify
from mlx_benchmarks.suites.eval_engine import ModelOutput, Scores
from mlx_benchmarks.suites.quality_common import Defaults, QualityOptions, QualitySuite, TaskRun, TaskSpec
from mlx_benchmarks.suites.reasoning import OURS, THINK_RULE, unparsed_count

SYMBOLIC_TIMEOUT_S = 5.0
MATH_METRICS = ("accuracy", "exact_match", "math_verify", "exact_match_boxed")
MATH_REFERENCES = {"accuracy": OURS, "exact_match": f"{minerva.REFERENCE} exact_match",
                   "math_verify": f"{minerva.REFERENCE} math_verify", "exact_match_boxed": OURS}


def minerva_equal(answer: str | None, gold: str, checker: SymbolicChecker | None) -> str:
    """lm-eval's ``is_equiv`` verdict: "equal", "sympy", "different", "unavailable" (no LaTeX parser), "timeout"."""
    if answer is None:
        return "different"
    if answer and answer == gold:
        return "equal"
    if checker is None:
        return "unavailable"
    verdict = checker.minerva_equiv(answer, gold)
    if verdict is None:
        return "timeout"
    if verdict == "unavailable":
        return "unavailable"
    return "sympy" if verdict else "different"


def score_math(record: Record, output: ModelOutput, *, checker: SymbolicChecker | None) -> tuple[Scores, dict[str, Any]]:
    """Our equivalence, lm-eval minerva_math's exact_match and math_verify, and Minerva on the boxed answer."""
    reply = reply_view(output.raw_text)
    predicted = extract_math_answer(reply)
    seen = reply_view(output.raw_text, minerva.UNTIL)  # what lm-eval's minerva_math scores
    verdict = math_equivalent(predicted, record.answer, checker)
    solution = record.meta.get("solution")
    solution = solution if isinstance(solution, str) and "boxed" in solution else f"\\boxed{{{record.answer}}}"
    try:
        gold = minerva.gold_answer(solution)
    except ValueError:  # lm-eval would fail on such a record; ours (a user's file) keeps its stated answer
        gold = minerva.normalize_final_answer(record.answer)
    phrase = minerva.reply_answer(seen)
    exact = minerva_equal(phrase, gold, checker)
    boxed = minerva.boxed_answer(reply)
    exact_boxed = minerva_equal(boxed, gold, checker)
    verified = checker.lm_eval_math_verify(solution, seen) if checker is not None else None
    scores = {"accuracy": float(verdict.equal), "exact_match": float(exact in ("equal", "sympy")),
              "math_verify": float(bool(verified)), "exact_match_boxed": float(exact_boxed in ("equal", "sympy"))}
    detail = {"extracted": predicted, "gold": record.answer, "equivalence": verdict.how,
              "minerva_answer": phrase, "minerva_gold": gold, "minerva_equiv": exact, "minerva_boxed": boxed,
              "minerva_boxed_equiv": exact_boxed, "math_verify": "timeout" if checker and verified is None else verified}
    return scores, detail


def summarize_math(run: TaskRun) -> list[Result]:
    details = [s.get("detail") or {} for s in run.samples if not s.get("error")]
    how = [str(d.get("equivalence")) for d in details]
    unavailable = sum(1 for d in details for key in ("minerva_equiv", "minerva_boxed_equiv")
                      if d.get(key) == "unavailable")
    common = {"think_rule": THINK_RULE, "scoring": "generate"}
    per_metric: dict[str, dict[str, object]] = {
        "accuracy": {"n_unparsed": unparsed_count(run.samples), "n_symbolic_matches": how.count("symbolic"),
                     "n_symbolic_timeouts": how.count("timeout"), "equivalence_checker": "normalize+math-verify",
                     "symbolic_timeout_s": SYMBOLIC_TIMEOUT_S},
        "exact_match": {"n_unparsed": sum(1 for d in details if d.get("minerva_answer") == minerva.INVALID_ANSWER),
                        "n_latex_parser_unavailable": unavailable},
        "math_verify": {"n_timeouts": sum(1 for d in details if d.get("math_verify") == "timeout")},
        "exact_match_boxed": {"n_unparsed": sum(1 for d in details if d.get("minerva_boxed") is None),
                              "n_latex_parser_unavailable": unavailable},
    }
    return [run.mean(m, tags={"reference": MATH_REFERENCES[m], **common, **per_metric[m]}) for m in MATH_METRICS]


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
        return TaskSpec(name, MATH_METRICS, partial(score_math, checker=resources.get("checker")),
                        summarize_math)
