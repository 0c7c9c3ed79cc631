"""Differential test: MATH-500 ``exact_match`` and ``math_verify`` against lm-eval 0.4.13's ``minerva_math``.

lm-eval's own ``tasks/minerva_math/utils.py`` scores each reply (``process_results``); ours runs through the
suite's scorer with its math worker process. lm-eval's module refuses to load unless
``antlr4-python3-runtime`` is 4.11 (math-verify installs 4.13), so its version check is answered with 4.11
while it loads; sympy's LaTeX parser then raises ImportError inside ``is_equiv`` for every pair that is not
string-equal, as it would in lm-eval. Those pairs are counted, not compared: ours reports them as
``unavailable`` (and scores 0); every other verdict, and every ``math_verify``, must agree.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.datasets import load_dataset, select
from mlx_benchmarks.scoring.math_equiv import SymbolicChecker
from mlx_benchmarks.suites.math_hard import score_math
from tests.scoring.lm_eval_reference import THINK_END
from tests.scoring.reply_variants import math_replies
from tests.scoring.test_reference_lm_eval import output_of

# sympy's simplify makes each record cost seconds; MLX_BENCH_REFERENCE_FULL=1 takes all 500
RECORDS = 500 if os.environ.get("MLX_BENCH_REFERENCE_FULL") else 24


@pytest.fixture(scope="module")
def minerva_utils() -> Iterator[types.ModuleType]:
    lm_eval = pytest.importorskip("lm_eval")
    pytest.importorskip("math_verify")
    path = Path(lm_eval.__file__).parent / "tasks" / "minerva_math" / "utils.py"
    real_version = importlib.metadata.version

    def version(name: str) -> str:
        return "4.11.0" if name == "antlr4-python3-runtime" else real_version(name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importlib.metadata, "version", version)
        spec = importlib.util.spec_from_file_location("lm_eval_minerva_math_utils", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    yield module


def _task_yaml() -> dict[str, Any]:
    import lm_eval

    yaml = pytest.importorskip("yaml")
    path = Path(lm_eval.__file__).parent / "tasks" / "minerva_math" / "minerva_math_algebra.yaml"
    # the file holds lm-eval's "!function" tags; only plain keys are read here
    text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if "!function" not in line)
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def checker() -> Iterator[SymbolicChecker]:
    with SymbolicChecker(timeout_s=5.0) as worker:
        yield worker


def test_minerva_exact_match_and_math_verify_agree_with_lm_eval(minerva_utils: types.ModuleType,
                                                                checker: SymbolicChecker) -> None:
    from lm_eval.models.utils import postprocess_generated_text

    until = list(_task_yaml()["generation_kwargs"]["until"])  # the task's stop sequences
    original_is_equiv = minerva_utils.is_equiv
    unavailable: list[bool] = []
    verdicts: dict[tuple[str, str], bool] = {}

    def is_equiv(x1: str, x2: str) -> bool:
        # the same pair recurs (every reply without Minerva's phrase is "[invalidanswer]"): ask sympy once
        if (x1, x2) in verdicts:
            return verdicts[(x1, x2)]
        try:
            verdicts[(x1, x2)] = bool(original_is_equiv(x1, x2))
        except ImportError:  # sympy's LaTeX parser without antlr4 4.11: lm-eval would stop here
            unavailable.append(True)
            return False
        return verdicts[(x1, x2)]

    minerva_utils.is_equiv = is_equiv
    compared = {"exact_match": 0, "math_verify": 0}
    right = {"exact_match": 0, "math_verify": 0}
    not_comparable = 0
    disagreements = []
    for record in select(load_dataset("math500"), RECORDS, seed=14):
        solution = str(record.meta["solution"])
        gold = minerva_utils.last_boxed_only_string(solution)
        doc = {"problem": record.prompt, "solution": solution,
               "answer": minerva_utils.normalize_final_answer(minerva_utils.remove_boxed(gold))}
        for reply in math_replies(record):
            unavailable.clear()
            seen = postprocess_generated_text(reply, until, THINK_END)
            theirs = minerva_utils.process_results(doc, [seen])
            ours, detail = score_math(record, output_of(reply), checker=checker)
            answer = minerva_utils.normalize_final_answer(minerva_utils.get_unnormalized_answer(seen))
            if (detail["minerva_answer"], detail["minerva_gold"]) != (answer, doc["answer"]):
                disagreements.append(f"{record.id} extraction: {answer!r} vs ours {detail['minerva_answer']!r}")
            for metric in ("exact_match", "math_verify"):
                if metric == "exact_match" and unavailable:
                    not_comparable += 1
                    if detail["minerva_equiv"] != "unavailable" or ours[metric] != 0.0:
                        disagreements.append(f"{record.id} {metric}: lm-eval needs antlr 4.11, ours {detail}"[:300])
                    continue
                compared[metric] += 1
                right[metric] += int(theirs[metric])
                if ours[metric] != float(theirs[metric]):
                    disagreements.append(f"{record.id} {metric}: lm-eval={theirs[metric]} ours={ours[metric]} "
                                         f"{reply[-160:]!r}"[:400])
    print(f"\nminerva_math: compared {compared} (lm-eval right {right}); exact_match pairs needing sympy's "
          f"LaTeX parser (antlr4 4.11): {not_comparable}; disagreements {len(disagreements)}")
    assert compared["math_verify"] >= 24 * RECORDS and right["math_verify"] > 0.3 * compared["math_verify"]
    assert right["exact_match"] > 0.1 * compared["exact_match"]
    assert not disagreements, "\n".join(disagreements[:20])
