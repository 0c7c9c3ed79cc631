"""Our checks of evalplus datasets agree with evalplus's ``untrusted_check`` (the reference).

The cases are 151 completions of real shapes on evalplus-shaped problems (HumanEval and MBPP problems
whose inputs are the literal arguments of their tests), read through our evalplus dataset loader; the
reference's verdicts on all are stored (tests/sandbox/make_reference_verdicts.py) and a random subset
is re-run through evalplus itself on every test run.
"""

from __future__ import annotations

import json
import os
import random
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.datasets.base import CodeSpec
from mlx_benchmarks.datasets.evalplus import HUMANEVAL_PLUS, MBPP_PLUS
from mlx_benchmarks.sandbox.run import check_many
from tests.sandbox.differential_cases import SLOW, Case, evalplus_cases
from tests.sandbox.make_reference_verdicts import DATA, evalplus_reference

CASES = evalplus_cases()
STORED = json.loads(Path(DATA).read_text(encoding="utf-8"))
LIVE = 8
SEED = int(os.environ.get("MLXB_DIFF_SEED") or random.SystemRandom().randrange(1 << 30))


def _spec(problem: dict[str, Any]) -> CodeSpec:
    loader = HUMANEVAL_PLUS if problem["task_id"].startswith("HumanEval/") else MBPP_PLUS
    spec = loader.record(problem, problem["task_id"]).code
    assert spec is not None
    return spec


def _ours(cases: list[tuple[str, dict[str, Any], str]]) -> list[bool]:
    return [r.passed for r in check_many([(_spec(problem), program) for _, problem, program in cases], workers=2)]


def _stored(case_id: str) -> bool:
    return bool(STORED["evalplus"][case_id]["passed"])


def test_the_stored_verdicts_are_the_references_on_these_cases() -> None:
    stored = STORED["evalplus"]
    assert len(CASES) >= 150 and set(stored) == {case_id for case_id, _, _ in CASES}
    for case_id, problem, program in CASES:
        assert stored[case_id]["digest"] == Case.digest_of(program, json.dumps(problem, sort_keys=True))
    assert STORED["versions"]["evalplus"] == version("evalplus")
    verdicts = [entry["passed"] for entry in stored.values()]
    assert min(verdicts.count(True), verdicts.count(False)) >= 40


def test_a_random_subset_agrees_with_evalplus_run_live() -> None:
    pytest.importorskip("evalplus.eval")
    quick = [case for case in CASES if case[0].rsplit("/", 1)[1] not in SLOW]
    subset = random.Random(SEED).sample(quick, LIVE)
    reference = [evalplus_reference(problem, program) for _, problem, program in subset]
    ours = _ours(subset)
    verdicts = {case_id: (stored, live, mine) for (case_id, _, _), live, mine in zip(subset, reference, ours, strict=True)
                if len({stored := _stored(case_id), live, mine}) > 1}
    assert verdicts == {}, f"(stored, evalplus live, ours) differ; MLXB_DIFF_SEED={SEED}"


@pytest.mark.slow
def test_every_case_agrees_with_evalplus() -> None:
    ours = _ours(CASES)
    disagree = {case_id: ("ours", mine, "evalplus", _stored(case_id))
                for (case_id, _, _), mine in zip(CASES, ours, strict=True) if mine != _stored(case_id)}
    assert disagree == {}
