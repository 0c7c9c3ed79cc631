"""Hand-made edge cases for the answer extractors: numbers, option letters, boxed LaTeX."""

from __future__ import annotations

import pytest

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.scoring.extract import (
    extract_letter,
    extract_math_answer,
    gsm8k_gold,
    gsm8k_lenient,
    gsm8k_reference,
    last_boxed,
    normalize_number,
    numbers_equal,
)
from mlx_benchmarks.suites.eval_engine import ModelOutput, split_reasoning
from mlx_benchmarks.suites.reasoning import score_gsm8k, score_multiple_choice


@pytest.mark.parametrize(("text", "canonical"), [
    ("1,234", "1234"), ("$5.00", "5"), ("-3", "-3"), ("42.", "42"), ("0.50", "0.5"), ("$ 1,000,000", "1000000"),
    ("\u22127", "-7"), ("3.14", "3.14"), ("seven", "seven"),
])
def test_normalize_number(text: str, canonical: str) -> None:
    assert normalize_number(text) == canonical


@pytest.mark.parametrize(("reply", "strict", "flexible", "lenient"), [
    ("6 * 2 = 12 apples. The answer is 12.", "12", "12.", "12"),
    ("Total is 1,234 dollars. The answer is 1,234.", "1,234", "1,234.", "1,234"),
    ("It costs $5.00 in all. The answer is $5.00", "[invalid]", "$5.00", "5.00"),
    ("the answer is 7 because 3 + 4 = 7, wait no, 8", "[invalid]", "8", "7"),
    ("No number here...", "[invalid]", "...", None),  # lm-eval's flexible filter takes an ellipsis
    ("Step 1... step 2... so 18 eggs", "[invalid]", "18", "18"),
    ("From 2019-2020 it fell by 20-13", "[invalid]", "-13", "13"),  # lm-eval reads "20-13" as -13
    ("The answer is 42", "4", "42", "42"),  # lm-eval's trailing "." wildcard eats the last digit
    ("The answer is\n13.", "[invalid]", "13.", "13"),  # lm-eval's phrase does not cross a line
    ("At first glance the answer is 267, but no. The answer is 260.", "260", "260.", "260"),
])
def test_gsm8k_reference_filters_and_our_lenient_reading(reply: str, strict: str, flexible: str,
                                                         lenient: str | None) -> None:
    assert gsm8k_reference(reply) == (strict, flexible)
    assert gsm8k_lenient(reply) == lenient


def test_gsm8k_gold_and_equality() -> None:
    assert gsm8k_gold("so 3 + 4 = 7\n#### 7") == "7"
    assert numbers_equal("1,234.", "1234")
    assert numbers_equal("$5.00", "5")
    assert not numbers_equal("-5", "5")
    assert not numbers_equal(None, "5")


def test_answer_after_think_block_is_what_gets_scored() -> None:
    answer, thought = split_reasoning("<think>maybe 99? The answer is 99.</think>The answer is 12.")
    assert "99" in thought
    assert gsm8k_reference(answer) == ("12", "12.")
    assert gsm8k_lenient(answer) == "12"


@pytest.mark.parametrize(("reply", "letter"), [
    ("Answer: (B)", "B"),
    ("B. Paris", "B"),
    ("(C)", "C"),
    ("D", "D"),
    ("The answer is B.", "B"),
    ("the correct answer is (d)", "D"),
    ("**Answer:** C", "C"),
    ("Let me think. Option A is wrong. The answer is C, not option A.", "C"),
    ("The best answer is \\boxed{B}", "B"),
    ("A good answer is hard to find, but the answer is D", "D"),
    ("A bird flies south in winter.", None),  # the article "A" is not option A
    ("The answer is a bit unclear to me.", None),  # lower-case "a" is not option a
    ("The answer is E.", None),  # out of range for four options
    ("Answer: Avocado", None),
    ("I pick option C because it is correct.", "C"),
    ("Answer: the correct option is D", "D"),
    ("(A) and (B) are wrong, so the answer is (C)", "C"),
    ("Paris", "B"),  # the reply is exactly one option's text
    ("(C) is tempting, but it fails on one detail; (B) is right.", None),  # not C
])
def test_extract_letter(reply: str, letter: str | None) -> None:
    assert extract_letter(reply, 4, ("London", "Paris", "Rome", "Berlin")) == letter


def test_extract_letter_respects_the_number_of_options() -> None:
    assert extract_letter("The answer is E.", 5) == "E"
    assert extract_letter("The answer is E.", 4) is None


@pytest.mark.parametrize(("text", "boxed"), [
    ("so $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
    ("first \\boxed{1} then \\boxed{\\sqrt{\\frac{3}{4}}}", "\\sqrt{\\frac{3}{4}}"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\fbox{x^{2}}", "x^{2}"),
    ("so \\boxed 5$.", "5"),
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
    ("unclosed \\boxed{\\frac{1}{2}", None),
    ("nothing boxed", None),
])
def test_last_boxed(text: str, boxed: str | None) -> None:
    assert last_boxed(text) == boxed


def test_extract_math_answer_falls_back_to_final_answer_phrase() -> None:
    assert extract_math_answer("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.") == "\\frac{3}{4}"
    assert extract_math_answer("The final answer is 12.") == "12"
    assert extract_math_answer("I do not know") is None
    assert extract_math_answer("The final answer is 3, so \\boxed{4}") == "4"  # boxed wins


def _output(text: str) -> ModelOutput:
    answer, thought = split_reasoning(text)
    return ModelOutput(text=answer, raw_text=text, reasoning=thought, tool_calls=[], completion=Completion(start_ns=0))


def test_the_four_defects_issue_14_named_are_gone() -> None:
    gsm = Record(id="g/1", task="gsm8k", prompt="q", answer="260", meta={"solution": "so 260\n#### 260"})
    # an unclosed <think> block is read, as lm-eval reads it
    scores, _ = score_gsm8k(gsm, _output("<think>Adding up: The answer is 260."))
    assert scores == {"exact_match_strict": 1.0, "exact_match_flexible": 1.0, "exact_match_lenient": 1.0}
    # an early lower-case "the answer is" does not beat the final one
    scores, _ = score_gsm8k(gsm, _output("At first glance the answer is 267, but no. The answer is 260."))
    assert scores["exact_match_strict"] == scores["exact_match_lenient"] == 1.0
    # lm-eval's phrase does not cross a line break; our lenient reading still finds the number
    scores, _ = score_gsm8k(gsm, _output("The answer is\n260."))
    assert (scores["exact_match_strict"], scores["exact_match_lenient"]) == (0.0, 1.0)
    # a leading option named as tempting is not the answer
    arc = Record(id="a/1", task="arc_challenge", prompt="q", answer="B", choices=("w", "x", "y", "z"))
    scores, detail = score_multiple_choice(arc, _output("(C) is tempting, but it fails on one detail; (B) is right."))
    assert detail["extracted_robust"] is None and scores["exact_match_flan_flexible"] == 1.0
