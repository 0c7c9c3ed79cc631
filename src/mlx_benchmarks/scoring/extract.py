"""Pull the answer out of a model's free-text reply: GSM8K numbers, multiple-choice letters, boxed LaTeX.

Every extractor returns ``None`` when the reply holds no answer of the asked shape, so "no answer" is
visible in the sample records instead of being confused with a wrong answer.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from mlx_benchmarks.scoring.lm_eval_filters import exact_match, multi_choice_regex, regex_filter

LETTERS = "ABCDEFGHIJ"

# lm-eval 0.4.13 gsm8k_cot_zeroshot (tasks/gsm8k/gsm8k-cot-zeroshot.yaml): its two filters and the
# exact_match settings, applied by lm_eval_filters exactly as lm-eval applies them
GSM8K_STRICT_PATTERN = r"The answer is (\-?[0-9\.\,]+)."
GSM8K_FLEXIBLE_PATTERN = r"(-?[$0-9.,]{2,})|(-?[0-9]+)"
GSM8K_IGNORE = (",", "\\$", "(?s).*#### ", "\\.$")
GSM8K_UNTIL = ("Q:", "</s>", "<|im_end|>")  # generation_kwargs.until: lm-eval's stop sequences
# our lenient reading: the last "answer is N" on one line (any case, "$" allowed), else the last number
# whose minus sign starts a word ("20-13" is not -13) and which holds a digit (an ellipsis is not a number)
LENIENT_ANSWER_RE = re.compile(r"answer is[ \t]*[:*]*[ \t]*\$?[ \t]*(-?[0-9](?:[0-9.,]*[0-9])?)", re.IGNORECASE)
NUMBER_RE = re.compile(r"(?<![\w.])-?(?:\$\s?)?[0-9][0-9,]*(?:\.[0-9]+)?")
MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-", "\uff0d": "-"})


def normalize_number(text: str) -> str:
    """Canonical text of a numeric answer: no commas, ``$`` or trailing period; ``5.00`` -> ``5``.

    Non-numeric text is returned stripped and lower-cased.
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


def gsm8k_reference(reply: str) -> tuple[str, str]:
    """lm-eval's (strict-match, flexible-extract) filter outputs for a reply (``"[invalid]"`` when none)."""
    return (regex_filter(reply, GSM8K_STRICT_PATTERN),
            regex_filter(reply, GSM8K_FLEXIBLE_PATTERN, group_select=-1))


def gsm8k_reference_match(filtered: str, target: str) -> bool:
    """lm-eval's ``exact_match`` with the task's settings; ``target`` is the whole GSM8K solution."""
    return exact_match(filtered, target, regexes_to_ignore=GSM8K_IGNORE, ignore_case=True)


def gsm8k_lenient(text: str) -> str | None:
    """Our reading: the number of the last "answer is N", else the last number in the reply; None if none."""
    text = text.translate(MINUS_SIGNS)
    phrases = LENIENT_ANSWER_RE.findall(text)
    if phrases:
        return str(phrases[-1])
    numbers = NUMBER_RE.findall(text)
    return numbers[-1].replace(" ", "") if numbers else None


def gsm8k_gold(answer: str) -> str:
    """GSM8K gold answers may carry the ``#### `` marker of the raw dataset; keep what follows it."""
    return answer.rsplit("####", 1)[-1].strip()


# ---------------------------------------------------------------- multiple choice

# lm-eval 0.4.13 mmlu_flan_cot_zeroshot (tasks/mmlu/flan_cot_zeroshot/_mmlu_flan_cot_zeroshot_template_yaml):
# the generative MC task whose prompt asks for "The answer is X"; its two filters, target "(X)", and
# exact_match ignoring case and punctuation
MC_STRICT_PATTERN = ("((?<=The answer is )(.*)(?=.)|(?<=answer is )(.*)(?=.)|(?<=The answer: )(.*)(?=.)"
                     "|(?<=The final answer: )(.*)(?=.))")
MC_FLEXIBLE_PATTERN = r"(\([A-Z]\))"
MC_UNTIL = ("</s>", "Q:", "<|im_end|>")


def mc_reference(reply: str, choices: tuple[str, ...] | list[str]) -> tuple[str, str]:
    """lm-eval's (strict-match, flexible-extract) filter outputs for a multiple-choice reply."""
    strict = regex_filter(reply, MC_STRICT_PATTERN)
    flexible = multi_choice_regex(reply, choices, MC_FLEXIBLE_PATTERN, group_select=-1, ignore_case=True,
                                  ignore_punctuation=True)
    return strict, flexible


def mc_reference_match(filtered: str, letter: str) -> bool:
    """lm-eval's ``exact_match`` against the task's target ``(X)``, case and punctuation ignored."""
    return exact_match(filtered, f"({letter})", ignore_case=True, ignore_punctuation=True)


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
    # a leading letter is the answer only when no other option is named in brackets later:
    # "(C) is tempting, but it fails on one detail; (B) is right." is not C
    bracketed = set(re.findall(rf"[\(\[]\s*([{letters}])\s*[\)\]]", body))
    if leading and bracketed <= {leading.group(1) or leading.group(2)}:
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
