"""Pull the answer out of a model's free-text reply: GSM8K numbers, multiple-choice letters, boxed LaTeX.

Every extractor returns ``None`` when the reply holds no answer of the asked shape, so "no answer" is
visible in the sample records instead of being confused with a wrong answer.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

LETTERS = "ABCDEFGHIJ"

# lm-eval gsm8k_cot_zeroshot "strict-match": r"The answer is (\-?[0-9\.\,]+)." with take_first.
# Differences, on purpose: case-insensitive, an optional "$" before the number, and no trailing "."
# wildcard (lm-eval's wildcard cuts "The answer is 42" at the end of a reply down to "4").
STRICT_ANSWER_RE = re.compile(r"the answer is\s*\$?\s*(-?[0-9](?:[0-9.,]*[0-9])?)", re.IGNORECASE)
# "flexible-extract" takes the last number; lm-eval's r"(-?[$0-9.,]{2,})|(-?[0-9]+)" also matches "..."
# (an ellipsis) and reads "10-5" as "-5", so a digit is required and a minus sign must start a word.
NUMBER_RE = re.compile(r"(?<![\w.])-?(?:\$\s?)?[0-9][0-9,]*(?:\.[0-9]+)?")
MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-", "\uff0d": "-"})


def normalize_number(text: str) -> str:
    """Canonical text of a numeric answer: no commas, ``$`` or trailing period; ``5.00`` -> ``5``.

    Non-numeric text is returned stripped and lower-cased (lm-eval's exact match ignores case).
    """
    cleaned = text.translate(MINUS_SIGNS).strip().replace(",", "").replace("$", "").replace(" ", "")
    cleaned = cleaned.rstrip(".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return cleaned.lower()
    if not number.is_finite():
        return cleaned.lower()
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def numbers_equal(predicted: str | None, gold: str) -> bool:
    """Exact match after :func:`normalize_number` on both sides."""
    return predicted is not None and normalize_number(predicted) == normalize_number(gold)


def gsm8k_strict(text: str) -> str | None:
    """The number after the first "The answer is", or None."""
    match = STRICT_ANSWER_RE.search(text.translate(MINUS_SIGNS))
    return match.group(1) if match else None


def gsm8k_flexible(text: str) -> str | None:
    """The last number in the reply, or None."""
    matches = NUMBER_RE.findall(text.translate(MINUS_SIGNS))
    return matches[-1].replace(" ", "") if matches else None


def gsm8k_gold(answer: str) -> str:
    """GSM8K gold answers may carry the ``#### `` marker of the raw dataset; keep what follows it."""
    return answer.rsplit("####", 1)[-1].strip()


# ---------------------------------------------------------------- multiple choice

def _letter_class(n_choices: int) -> str:
    return LETTERS[: max(1, min(n_choices, len(LETTERS)))]


def extract_letter(text: str, n_choices: int, choices: tuple[str, ...] = ()) -> str | None:
    """The chosen option letter, robust to "Answer: (B)", "B.", "**B**", "the answer is B", ``\\boxed{B}``.

    Tiers, first hit wins: a boxed letter; the last "answer is X" / "Answer: X"; the last "option X is
    correct"-style phrase; a reply that starts with a lone letter ("B", "B.", "(B)", "B) text"); a reply
    that is exactly one option's text. An unbracketed letter must be a capital standing alone, so the
    article in "A good answer is ..." or "the answer is a bit long" is never read as an option.
    """
    letters = _letter_class(n_choices)
    body = text.replace("**", "").replace("__", "").strip()
    boxed = last_boxed(body)
    if boxed is not None:
        inner = re.sub(r"\\text\{(.*)\}", r"\1", boxed).strip().strip("()")
        if len(inner) == 1 and inner.upper() in letters:
            return inner.upper()
    letter = rf"(?:[\(\[]\s*([{letters}{letters.lower()}])\s*[\)\]]|\b([{letters}])\b(?![\'\-]\w))"
    tiers = (
        rf"(?i:answer)\s*(?i:is|would be|should be|will be|:)?\s*(?i:option|choice|letter)?\s*:?\s*{letter}",
        rf"(?i:option|choice)\s*(?i:is\s*)?:?\s*{letter}",
    )
    for tier in tiers:
        found = [m.group(1) or m.group(2) for m in re.finditer(tier, body)]
        if found:
            return found[-1].upper()
    leading = re.match(rf"^\s*(?:[\(\[]\s*([{letters}])\s*[\)\]]|([{letters}])(?:[.):]|\s*$))", body)
    if leading:
        return (leading.group(1) or leading.group(2)).upper()
    if choices:
        wanted = body.rstrip(".").strip().lower()
        hits = [LETTERS[i] for i, choice in enumerate(choices) if choice.strip().rstrip(".").lower() == wanted]
        if len(hits) == 1:
            return hits[0]
    return None


# ---------------------------------------------------------------- boxed LaTeX answers

def _braced(text: str, open_index: int) -> str | None:
    """The text inside the brace group opening at ``open_index``, nested braces included."""
    depth = 0
    for index in range(open_index, len(text)):
        char = text[index]
        if char == "\\":  # an escaped brace "\{" does not nest
            continue
        if char == "{" and (index == 0 or text[index - 1] != "\\"):
            depth += 1
        elif char == "}" and (index == 0 or text[index - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return text[open_index + 1 : index]
    return None


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}``, ``\\boxed 5``), nested braces kept."""
    for match in reversed(list(re.finditer(r"\\(?:boxed|fbox)\s*(\{|\s+(\S+))", text))):
        if match.group(2) is not None:  # "\boxed 5": one token, as Minerva's extractor allows
            return match.group(2).rstrip("$.")
        inner = _braced(text, match.start(1))
        if inner is not None:
            return inner.strip()
    return None


FINAL_ANSWER_RE = re.compile(r"final answer is[:\s]*(.+?)(?:\.\s*I hope it is correct|\n|$)", re.IGNORECASE)


def extract_math_answer(text: str) -> str | None:
    """The last boxed answer; else what follows the last "final answer is" (Minerva's format)."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    matches = FINAL_ANSWER_RE.findall(text)
    if not matches:
        return None
    answer = matches[-1].strip().rstrip(".").strip()
    if answer.startswith("$") and answer.endswith("$") and len(answer) > 1:
        answer = answer.strip("$").strip()
    return answer or None
