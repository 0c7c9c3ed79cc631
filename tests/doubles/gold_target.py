"""Test doubles for the quality suites: targets that know the answers (or insist on wrong ones).

They find the record behind a prompt by rebuilding every prompt of the datasets through the suites' own
template (``quality_common.user_prompt``), so a template change can never make them drift apart.

Factories, used as ``--target py:tests.doubles.gold_target:FACTORY``:

- ``gold_target``: the gold answer, in the shapes real models use (reference reasoning for GSM8K and
  MATH, several letter formats, full functions and bare bodies for code). Scores 1.0 everywhere.
- ``thinking_gold_target``: a wrong answer inside ``<think>...</think>``, then the gold answer.
- ``wrong_target``: a well-formed wrong answer for every task. Scores 0.0 everywhere.
- ``failing_code_target``: code that fails in a fixed way per problem (syntax, runtime, wrong, timeout).
- ``slow_gold_target``: ``gold_target`` with a delay per request (``GOLD_TARGET_DELAY_S``).
- ``flaky_gold_target``: ``gold_target``, but a fixed third of the requests fail with an error chunk.

``GOLD_TARGET_LOG=FILE`` appends one line per request (the record id) so tests can count requests;
``GOLD_TARGET_DATA=PATH`` is where the evalplus release files are, or a user's records file (``.jsonl``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

from mlx_benchmarks.datasets import load_dataset
from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.scoring.extract import LETTERS
from mlx_benchmarks.suites.quality_common import user_prompt
from mlx_benchmarks.targets.base import ChatRequest, Chunk, TargetInfo, Usage, now_ns

# which datasets a prompt can come from, by a phrase of its template (cheap: load only those)
PROMPT_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Q: ", ("gsm8k",)),
    ("multiple choice question about", ("mmlu",)),
    ("multiple choice science question", ("arc_challenge",)),
    ("Complete the following Python function", ("humaneval", "humaneval_plus")),
    ("expert Python programmer", ("mbpp", "mbpp_plus")),
    ("", ("jsonl", "math500")),  # a user's JSONL file (GOLD_TARGET_DATA=FILE.jsonl) is checked first
)
WRONG_MATH = "-98765.4321"


class RecordIndex:
    """User prompt text -> record, built lazily per dataset."""

    def __init__(self) -> None:
        self._by_prompt: dict[str, Record] = {}
        self._loaded: set[str] = set()

    def _load(self, name: str) -> None:
        self._loaded.add(name)
        data = os.environ.get("GOLD_TARGET_DATA")
        if name == "jsonl":
            records = load_dataset("jsonl", data=Path(data)) if data and data.endswith(".jsonl") else []
        elif name.endswith("_plus"):
            if not data:
                return
            records = load_dataset(name, data=Path(data))
        else:
            records = load_dataset(name)
        for record in records:
            self._by_prompt.setdefault(user_prompt(record), record)

    def find(self, prompt: str) -> Record:
        for phrase, names in PROMPT_HINTS:
            if phrase not in prompt:
                continue
            for name in names:
                if prompt in self._by_prompt:
                    return self._by_prompt[prompt]
                if name not in self._loaded:
                    self._load(name)
        record = self._by_prompt.get(prompt)
        if record is None:
            raise LookupError(f"the gold double knows no record with this prompt: {prompt[:120]!r}")
        return record


def variant(record: Record, count: int) -> int:
    """A stable choice among ``count`` answer shapes for a record."""
    return int(hashlib.sha256(record.id.encode()).hexdigest()[:8], 16) % count


# ------------------------------------------------------------------ gold answers

def gold_gsm8k(record: Record) -> str:
    reasoning = str(record.meta.get("solution", "")).split("####")[0].strip()
    return f"{reasoning}\nThe answer is {record.answer}."


def gold_choice(record: Record) -> str:
    letter = record.answer
    text = record.choices[LETTERS.index(letter)]
    # every shape ends in lm-eval's "answer is (X)." so the reference metrics read it as our robust one does
    shapes = (f"Let me think.\nThe answer is ({letter}).", f"Answer: {letter}\nThe answer is ({letter}).",
              f"{letter}. {text}\nSo the answer is ({letter}).", f"**{letter}**\nThe answer is ({letter}).",
              f"After checking each option, the correct answer is ({letter}).")
    return shapes[variant(record, len(shapes))]


def gold_math(record: Record) -> str:
    solution = record.meta.get("solution")
    # Minerva's closing line too, which lm-eval's minerva_math exact_match reads
    closing = f"Final Answer: The final answer is ${record.answer}$. I hope it is correct."
    if isinstance(solution, str) and "boxed" in solution:
        return f"{solution}\n{closing}"  # the reference solution: its last \boxed{} is the gold answer
    return f"The final answer is $\\boxed{{{record.answer}}}$.\n{closing}"


def gold_code(record: Record) -> str:
    spec = record.code
    assert spec is not None
    program = spec.canonical_solution
    if spec.prompt_prefix and program.startswith(spec.prompt_prefix) and variant(record, 3) == 0:
        return program[len(spec.prompt_prefix):]  # a bare body continuing the prompt, no fence
    if variant(record, 3) == 1:
        return f"Here is the solution:\n\n```python\n{program}\n```\n\nIt handles the edge cases."
    return f"```python\n{program}\n```"


def gold_answer(record: Record) -> str:
    if record.task == "gsm8k":
        return gold_gsm8k(record)
    if record.choices:
        return gold_choice(record)
    if record.code is not None:
        return gold_code(record)
    return gold_math(record)


# ------------------------------------------------------------------ wrong answers

def wrong_answer(record: Record) -> str:
    if record.task == "gsm8k":
        return f"The answer is {Decimal(record.answer) + 1}."
    if record.choices:
        wrong = LETTERS[(LETTERS.index(record.answer) + 1) % len(record.choices)]
        return f"The answer is ({wrong})."
    if record.code is not None:
        spec = record.code
        return f"```python\ndef {spec.entry_point}(*args, **kwargs):\n    return 'not the answer'\n```"
    return f"The final answer is $\\boxed{{{WRONG_MATH}}}$."


FAILURE_KINDS = ("syntax_error", "runtime_error", "wrong_answer", "timeout")


def failing_code(record: Record) -> str:
    """Code that fails one fixed way per problem; the kind is in ``failure_kind``."""
    assert record.code is not None
    name = record.code.entry_point
    bodies = {
        "syntax_error": f"def {name}(*args, **kwargs:\n    return 1\n",
        "runtime_error": f"def {name}(*args, **kwargs):\n    raise ValueError('double')\n",
        "wrong_answer": f"def {name}(*args, **kwargs):\n    return 'not the answer'\n",
        "timeout": f"def {name}(*args, **kwargs):\n    while True:\n        pass\n",
    }
    return f"```python\n{bodies[failure_kind(record)]}```"


def failure_kind(record: Record) -> str:
    return FAILURE_KINDS[variant(record, len(FAILURE_KINDS))]


def thinking_gold(record: Record) -> str:
    decoy = "The answer is 0. \\boxed{0} Answer: (A)"
    return f"<think>{decoy}</think>{gold_answer(record)}"


# ------------------------------------------------------------------ the target

class AnswerKeyTarget:
    """A target that answers each quality prompt with ``answer(record)``. A test double, not a model."""

    def __init__(self, answer: Callable[[Record], str], label: str, delay_s: float = 0.0,
                 fails: Callable[[Record], bool] = lambda record: False) -> None:
        self.answer = answer
        self.fails = fails
        self.delay_s = delay_s
        self.index = RecordIndex()
        self.info = TargetInfo(kind="test-double", model=f"{label}-double", supports_tools=False,
                               details={"double": label})
        self.log = os.environ.get("GOLD_TARGET_LOG")

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def count_tokens(self, text: str) -> int | None:
        return len(text.split())

    def make_prompt(self, n_tokens: int, salt: str) -> str | None:
        return None

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        prompt = str(request.messages[-1]["content"])
        record = self.index.find(prompt)
        if self.log:
            with open(self.log, "a", encoding="utf-8") as handle:
                handle.write(record.id + "\n")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        yield Chunk(t_ns=now_ns(), kind="role")
        if self.fails(record):
            yield Chunk(t_ns=now_ns(), kind="error", text="test double: this request fails")
            return
        text = self.answer(record)
        pieces = re.findall(r"\S+\s*|\s+", text) or [text]
        for start in range(0, len(pieces), 8):
            yield Chunk(t_ns=now_ns(), kind="content", text="".join(pieces[start:start + 8]))
        usage = Usage(prompt_tokens=len(prompt.split()), completion_tokens=len(text.split()))
        yield Chunk(t_ns=now_ns(), kind="usage", usage=usage, finish_reason="stop")


def gold_target(model: str | None = None) -> AnswerKeyTarget:
    """Replays the gold answer of every prompt."""
    return AnswerKeyTarget(gold_answer, "gold-answer")


def thinking_gold_target(model: str | None = None) -> AnswerKeyTarget:
    """A decoy answer inside <think>, then the gold answer: scores 1.0 only if thinking is stripped."""
    return AnswerKeyTarget(thinking_gold, "thinking-gold-answer")


def wrong_target(model: str | None = None) -> AnswerKeyTarget:
    """A well-formed wrong answer to every prompt."""
    return AnswerKeyTarget(wrong_answer, "wrong-answer")


def failing_code_target(model: str | None = None) -> AnswerKeyTarget:
    """Code that fails in a known way per problem (see ``failure_kind``)."""
    return AnswerKeyTarget(failing_code, "failing-code")


def slow_gold_target(model: str | None = None) -> AnswerKeyTarget:
    """The gold target with ``GOLD_TARGET_DELAY_S`` seconds per request (for kill -9 / resume tests)."""
    return AnswerKeyTarget(gold_answer, "slow-gold-answer", delay_s=float(os.environ.get("GOLD_TARGET_DELAY_S", "0.5")))


def request_fails(record: Record) -> bool:
    """Which records the flaky double refuses: a fixed third of them."""
    return variant(record, 3) == 0


def flaky_gold_target(model: str | None = None) -> AnswerKeyTarget:
    """The gold answer, except for the records ``request_fails`` picks, which get an error chunk."""
    return AnswerKeyTarget(gold_answer, "flaky-gold-answer", fails=request_fails)
