"""Math answer equivalence: normalisation, symbolic comparison, and the hard time limit."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mlx_benchmarks.scoring import minerva
from mlx_benchmarks.scoring.math_equiv import SymbolicChecker, math_equivalent, normalize_answer


@pytest.fixture(scope="module")
def checker() -> Iterator[SymbolicChecker]:
    with SymbolicChecker(timeout_s=5.0) as worker:
        yield worker


@pytest.mark.parametrize(("answer", "normal"), [
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("\\dfrac12", "\\frac{1}{2}"),
    ("\\tfrac{3}{4}", "\\frac{3}{4}"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"),
    ("5\\text{ cm}", "5"),
    ("10 degrees", "10"),
    ("90^\\circ", "90"),
    ("x = 5", "5"),
    ("1,000", "1000"),
    ("1,2", "1,2"),
    (".5", "0.5"),
    ("5.00", "5"),
    ("\\text{Evelyn}", "Evelyn"),
    ("\\$18.90", "18.9"),
    ("\\sqrt2", "\\sqrt{2}"),
    ("[-2, 7]", "[-2,7]"),
])
def test_normalize_answer(answer: str, normal: str) -> None:
    assert normalize_answer(answer) == normal


@pytest.mark.parametrize(("predicted", "gold"), [
    ("\\frac{1}{2}", "0.5"),
    ("0.5", "\\dfrac{1}{2}"),
    ("\\sqrt{200}", "10\\sqrt{2}"),
    ("(x+2)(x+5)", "x^2+7x+10"),
    ("(3, \\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("[-2, 7]", "[-2,7]"),
    ("6 - 5i", "6-5i"),
])
def test_equivalent_pairs(checker: SymbolicChecker, predicted: str, gold: str) -> None:
    assert math_equivalent(predicted, gold, checker).equal


@pytest.mark.parametrize(("predicted", "gold"), [
    ("3", "4"), ("\\frac{1}{3}", "0.5"), ("(1, 2)", "(1, 3)"), ("x+1", "x-1"), ("[-2, 7)", "[-2,7]"),
])
def test_different_pairs(checker: SymbolicChecker, predicted: str, gold: str) -> None:
    verdict = math_equivalent(predicted, gold, checker)
    assert not verdict.equal
    assert verdict.how == "different"


def test_normalisation_alone_needs_no_worker() -> None:
    assert math_equivalent("\\dfrac{1}{2}", "\\frac12", None).how == "normalized"
    assert math_equivalent("0.5", "\\frac12", None).how == "different"
    assert math_equivalent(None, "1", None).how == "unparsed"


def test_a_stuck_comparison_is_cut_off_and_the_worker_replaced() -> None:
    with SymbolicChecker(timeout_s=1.0, stall_s=30.0) as stuck:
        started = time.monotonic()
        verdict = math_equivalent("0.5", "\\frac{1}{2}", stuck)
        elapsed = time.monotonic() - started
        assert verdict.how == "timeout" and not verdict.equal
        assert stuck.timeouts == 1
    assert elapsed < 25  # startup plus the 3x budget backstop, far below the 30 s stall


def test_pathological_expression_is_time_bounded(checker: SymbolicChecker) -> None:
    started = time.monotonic()
    verdict = math_equivalent("9^{9^{9^{9^{9}}}}", "1", checker)
    assert not verdict.equal
    assert time.monotonic() - started < 20
    assert math_equivalent("0.5", "\\frac{1}{2}", checker).equal  # the worker still answers afterwards


def test_minerva_is_equiv_accepts_equivalent_forms_in_the_worker(checker: SymbolicChecker) -> None:
    """lm-eval minerva_math's is_equiv: "14/3" is "\\frac{14}{3}" (sympy), not just equal strings."""
    assert checker.minerva_equiv("14/3", "\\frac{14}{3}") is True
    assert checker.minerva_equiv("\\frac{14}{3}", "\\frac{14}{3}") is True
    assert checker.minerva_equiv("5", "\\frac{14}{3}") is False
    reply = "So it is 4.\nFinal Answer: The final answer is $\\dfrac{14}{3}$. I hope it is correct."
    assert minerva.reply_answer(reply) == "\\dfrac{14}{3}"
    assert minerva.reply_answer("The answer is \\boxed{4}") == minerva.INVALID_ANSWER
    assert minerva.boxed_answer("so \\boxed{\\frac{14}{3}} cm") == "\\frac{14}{3}"
    assert minerva.gold_answer("... = \\boxed{10\\text{ cm}}.") == "10"
