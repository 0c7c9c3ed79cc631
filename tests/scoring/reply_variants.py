"""Test double: model replies built from dataset records, for differential tests against reference scorers.

For each record, the reply shapes models produce and scorers disagree on: the asked answer phrase and
other phrasings, commas, dollars and units, several numbers, signs, an early then a final answer, answers
across a line break, boxed answers, letter forms, option texts, LaTeX forms, ``<think>`` blocks (closed,
unclosed, with a decoy, a lone ``</think>``), wrong answers, and empty replies. Deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.scoring.extract import LETTERS


def _thinking(answer: str, decoy: str) -> Iterator[str]:
    yield f"<think>{decoy}</think>{answer}"
    yield f"<think>\n{decoy}\n</think>\n\n{answer}"
    yield f"<think>{decoy} {answer}"  # never closed: the model ran out of tokens while thinking
    yield f"{decoy}</think>{answer}"  # the template opened the block inside the prompt
    yield f"<think>{answer}</think>{decoy}"


def gsm8k_replies(record: Record) -> Iterator[str]:
    """GSM8K replies around the gold number (and wrong ones)."""
    gold = record.answer.strip()
    try:
        number = Decimal(gold)
    except InvalidOperation:
        number = Decimal(0)
    wrong = str(number + 7)
    commas = f"{int(number):,}" if number == number.to_integral_value() else gold
    reasoning = str(record.meta.get("solution", "")).split("####")[0].strip()
    phrase = f"The answer is {gold}."
    yield f"{reasoning}\n{phrase}"
    yield phrase
    yield f"The answer is {gold}"  # at the very end: lm-eval's trailing "." wildcard needs one more char
    yield f"the answer is {gold}."
    yield f"The answer is ${gold}."
    yield f"The answer is {commas}."
    yield f"The answer is ${commas}.00."
    yield f"The answer is {gold} dollars."
    yield f"The answer is: {gold}."
    yield f"The answer is\n{gold}."
    yield f"**The answer is {gold}.**"
    yield f"The answer is {gold}.0."
    yield f"At first glance the answer is {wrong}, but that double counts. The answer is {gold}."
    yield f"The answer is {gold}. Actually the answer is {wrong}."
    yield f"We have 20-13 = 7 and then {gold} in all."
    yield f"So {gold} - {wrong} = {number - Decimal(wrong)}, hence {gold}"
    yield f"{gold}"
    yield f"{gold}."
    yield f"#### {gold}"
    yield f"The answer is \u2212{gold}."
    yield f"The answer is -{gold}."
    yield f"So the result is {gold}... wait... yes."
    yield f"The answer is {wrong}."
    yield f"{phrase}\n\nQ: What is 2 + 2?\nA: The answer is {wrong}."  # lm-eval's stop sequence "Q:"
    yield "I cannot solve this..."
    yield ""
    yield from _thinking(phrase, f"The answer is {wrong}.")


def mc_replies(record: Record) -> Iterator[str]:
    """Multiple-choice replies around the gold letter (and other letters)."""
    letter = record.answer.strip().upper()
    count = len(record.choices)
    text = record.choices[LETTERS.index(letter)] if letter in LETTERS[:count] else ""
    other = LETTERS[(LETTERS.index(letter) + 1) % count] if letter in LETTERS[:count] else "A"
    other_text = record.choices[LETTERS.index(other)]
    phrase = f"The answer is ({letter})."
    yield phrase
    yield f"Let me think step by step.\n{phrase}"
    yield f"The answer is {letter}."
    yield f"The answer is {letter}"
    yield f"the answer is {letter.lower()}."
    yield f"The answer: ({letter})."
    yield f"The final answer: {letter}."
    yield f"Answer: {letter}"
    yield f"Answer: ({letter})"
    yield letter
    yield f"({letter})"
    yield f"{letter}. {text}"
    yield f"**{letter}**"
    yield f"The answer is **{letter}**."
    yield f"The answer is {letter}. {text}"
    yield f"The answer is {text}."
    yield text
    yield f"I think the correct option is {letter}."
    yield f"The answer is \\boxed{{{letter}}}."
    yield f"({other}) is tempting, but it fails on one detail; ({letter}) is right."
    yield f"The answer is ({letter}) because ({other}) is wrong."
    yield f"The answer is ({other}). No wait, the answer is ({letter})."
    yield f"The answer is\n({letter})."
    yield f"The answer is ({other})."
    yield f"The answer is {other_text}."
    yield "The answer is (Z)."
    yield f"{phrase}\n\nQ: next question\nThe answer is ({other})."  # lm-eval's stop sequence "Q:"
    yield "I am not sure."
    yield ""
    yield from _thinking(phrase, f"The answer is ({other}).")


def math_replies(record: Record) -> Iterator[str]:
    """MATH replies around the gold LaTeX answer (and a wrong one)."""
    gold = record.answer.strip()
    solution = str(record.meta.get("solution", f"\\boxed{{{gold}}}"))
    closing = f"Final Answer: The final answer is ${gold}$. I hope it is correct."
    slashed = gold.replace("\\frac{", "").replace("}{", "/").rstrip("}")  # \frac{14}{3} -> 14/3
    dfrac = gold.replace("frac", "dfrac")
    yield solution
    yield f"{solution}\n{closing}"
    yield closing
    yield f"Final Answer: The final answer is {gold}. I hope it is correct."
    yield f"Final Answer: The final answer is ${gold}$"
    yield f"The final answer is $\\boxed{{{gold}}}$."
    yield f"So $x = \\boxed{{{gold}}}$"
    yield f"\\boxed {gold}$"
    yield f"\\fbox{{{gold}}}"
    yield f"The answer is \\boxed{{\\text{{{gold}}}}}."
    yield f"$\\boxed{{{dfrac}}}$"
    yield f"Final Answer: The final answer is ${slashed}$. I hope it is correct."
    yield f"$\\boxed{{{gold} \\text{{ cm}}}}$"
    yield f"$\\boxed{{x = {gold}}}$"
    yield f"First \\boxed{{0}}, then finally \\boxed{{{gold}}}."
    yield f"\\boxed{{{gold}}} but wait, \\boxed{{-98765}}"
    yield "Final Answer: The final answer is $-98765.4321$. I hope it is correct."
    yield f"{closing}\n\nProblem:\nWhat is 1+1?\nFinal Answer: The final answer is $2$. I hope it is correct."
    yield "I do not know."
    yield ""
    yield from _thinking(f"The final answer is $\\boxed{{{gold}}}$.", "\\boxed{-98765}")
