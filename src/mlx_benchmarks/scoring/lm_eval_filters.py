"""lm-evaluation-harness 0.4.13's answer filters and ``exact_match``, reproduced for the metrics named after them.

Each function is the behaviour of one lm-eval object, quirks included (``tests/scoring/test_reference_*.py``
runs lm-eval's own objects on the same replies and requires identical outputs):

- ``regex_filter``: ``lm_eval.filters.extraction.RegexFilter`` (``findall``, ``group_select``, the first
  non-empty group of a tuple, ``strip``, fallback ``"[invalid]"``) followed by ``take_first``;
- ``multi_choice_regex``: the registered ``multi_choice_regex`` filter (``lm_eval.filters.extraction``
  ``MultiChoiceRegexFilter``: the regex, then an option's text, longest first, then ``: X``);
- ``exact_match``: ``lm_eval.api.metrics.exact_match_hf_evaluate`` for one prediction;
- ``reply_view``: what lm-eval hands its filters (``postprocess_generated_text`` with
  ``think_end_token="</think>"`` and the task's ``until``): the text after the last ``</think>``,
  left-stripped (a reply without one, an unclosed ``<think>`` included, is read whole), cut at the first
  of the task's stop sequences, as a server given lm-eval's ``stop`` would have cut the generation.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections.abc import Sequence
from functools import cache

LM_EVAL = "lm-eval 0.4.13"
FALLBACK = "[invalid]"
THINK_END = "</think>"
ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)


def reply_view(raw: str, until: Sequence[str] = ()) -> str:
    """The reply as lm-eval's filters see it (``postprocess_generated_text`` with ``think_end_token``)."""
    text = raw.split(THINK_END)[-1].lstrip()
    for term in until:
        if term:
            text = text.split(term)[0]
    return text


def regex_filter(text: str, pattern: str | re.Pattern[str], group_select: int = 0, fallback: str = FALLBACK) -> str:
    """lm-eval's ``RegexFilter`` on one response."""
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    matches = regex.findall(text)
    if not matches:
        return fallback
    match = matches[group_select]
    if isinstance(match, tuple):
        groups = [m for m in match if m]
        if not groups:
            return fallback
        match = groups[0]
    return str(match).strip()


def exact_match(prediction: str, reference: str, *, regexes_to_ignore: Sequence[str] = (),
                ignore_case: bool = False, ignore_punctuation: bool = False) -> bool:
    """lm-eval's ``exact_match_hf_evaluate`` for one prediction/reference pair."""
    for pattern in regexes_to_ignore:
        prediction = re.sub(pattern, "", prediction)
        reference = re.sub(pattern, "", reference)
    if ignore_case:
        prediction, reference = prediction.lower(), reference.lower()
    if ignore_punctuation:
        prediction = prediction.translate(ASCII_PUNCTUATION)
        reference = reference.translate(ASCII_PUNCTUATION)
    # numpy's fixed-width strings (which lm-eval compares) drop trailing NULs
    return prediction.rstrip("\x00") == reference.rstrip("\x00")


@cache
def _unicode_punctuation() -> dict[int, None]:
    # every Unicode "P*" code point, as MultiChoiceRegexFilter builds it (once here, not per call)
    return dict.fromkeys(i for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P"))


def multi_choice_regex(text: str, choices: Sequence[str], pattern: str, *, group_select: int = 0,
                       ignore_case: bool = False, ignore_punctuation: bool = False,
                       regexes_to_ignore: Sequence[str] = (), fallback: str = FALLBACK) -> str:
    """lm-eval's ``MultiChoiceRegexFilter`` on one response with the question's options."""

    def find(regex: re.Pattern[str], resp: str, convert: dict[str, str]) -> str:
        found = regex.findall(resp)
        if not found:
            return ""
        match = found[group_select]
        if isinstance(match, tuple):
            match = next((m for m in match if m), "")
        match = str(match).strip()
        return convert.get(match, match) if match else match

    def ignores(value: str) -> str:
        for ignored in regexes_to_ignore:
            value = re.sub(ignored, "", value)
        if ignore_case:
            value = value.lower()
        if ignore_punctuation:
            value = value.translate(_unicode_punctuation())
        return value

    to_alpha: dict[str, str] = {}
    option_regexes, letters = [], []
    for index, choice in enumerate(choices):
        letter = chr(ord("A") + index)
        cleaned = ignores(choice.strip())
        option_regexes.append(re.escape(cleaned))
        to_alpha[cleaned] = f"({letter})"
        letters.append(letter)
    # longest first, as lm-eval: "Guilty" must not match inside "Guilty of Romance"
    by_text = re.compile("|".join(sorted(option_regexes, key=len, reverse=True)))
    by_colon = re.compile(rf":[\s]*({'|'.join(letters)})")
    match = find(re.compile(pattern), text, {})
    if not match:
        match = find(by_text, ignores(text), to_alpha)
        if not match:
            match = find(by_colon, text, {letter: f"({letter})" for letter in letters})
    return match or fallback
