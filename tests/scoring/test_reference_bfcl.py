"""Differential test: our ``accuracy`` against BFCL's own ``ast_checker`` on the same decoded calls.

Outputs come from BFCL's possible answers for every AST category (right ones and perturbations,
``tests/scoring/call_variants.py``); the verdicts must agree on every one. BFCL's checker is run as
installed (``bfcl-eval`` with ``--no-deps``): its model-config module imports every provider SDK, so that one
module is replaced by a stub naming a single function-calling model whose dots are sent as underscores,
which is how our suite sends names.
"""

from __future__ import annotations

import os
import sys
import types
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.datasets import bfcl
from mlx_benchmarks.scoring.tool_ast import check_sample
from tests.scoring.call_variants import as_bfcl, as_calls, perturbed_outputs

STUB_MODEL = "mlx-bench-stub-FC"
# MLX_BENCH_REFERENCE_FULL=1: every question of every category instead of a spread-out 450 per category
PER_CATEGORY = 10**6 if os.environ.get("MLX_BENCH_REFERENCE_FULL") else 450


@dataclass(frozen=True)
class StubModelConfig:
    """The one field of BFCL's ModelConfig the checker reads."""

    underscore_to_dot: bool


@pytest.fixture(scope="module")
def bfcl_checker(monkeypatch_module: pytest.MonkeyPatch) -> Any:
    pytest.importorskip("bfcl_eval")
    stub = types.ModuleType("bfcl_eval.constants.model_config")
    stub.MODEL_CONFIG_MAPPING = {STUB_MODEL.replace("_", "/"): StubModelConfig(underscore_to_dot=True)}  # type: ignore[attr-defined]
    monkeypatch_module.setitem(sys.modules, stub.__name__, stub)
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    def check(functions: list[dict[str, Any]], output: list[dict[str, Any]], truth: Any, category: str) -> bool:
        verdict = ast_checker(functions, output, truth, Language.PYTHON, category, STUB_MODEL)
        return bool(verdict["valid"])

    return check


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_accuracy_agrees_with_bfcl_ast_checker(bfcl_checker: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    root: Path = tmp_path_factory.mktemp("bfcl")
    compared: Counter[str] = Counter()
    valid: Counter[str] = Counter()
    reference_raised: Counter[str] = Counter()
    disagreements: list[str] = []
    for category, (stem, kind) in bfcl.CATEGORIES.items():
        if kind in bfcl.ANSWERLESS:
            continue
        records, _ = bfcl.load(category, root)
        for record in records[:: max(1, len(records) // PER_CATEGORY)]:  # CI time: a spread-out subset
            functions, truth = record.meta["functions"], record.meta["ground_truth"]
            for output in perturbed_outputs(functions, truth, record.id):
                try:
                    expected = bfcl_checker(functions, as_bfcl(output), truth, stem)
                except (KeyError, AttributeError, TypeError, IndexError):
                    reference_raised[category] += 1  # BFCL crashes on it: no verdict to compare with
                    continue
                ours = check_sample(kind, functions, as_calls(output), truth).valid
                compared[category] += 1
                valid[category] += expected
                if ours != expected:
                    disagreements.append(f"{record.id}: bfcl={expected} ours={ours} {output}"[:400])
    total = sum(compared.values())
    print(f"\nBFCL agreement: {total - len(disagreements)}/{total}; per category {dict(compared)}; "
          f"valid per BFCL {dict(valid)}; BFCL raised {dict(reference_raised)}")
    assert total > 20_000
    assert 0.2 < sum(valid.values()) / total < 0.8  # both right and wrong outputs were put to the test
    assert not disagreements, "\n".join(disagreements[:20])


def test_bfcl_own_gold_answers_that_the_old_item_type_rule_refused(bfcl_checker: Any, tmp_path: Path) -> None:
    """parallel_multiple_94's gold answer scores, as under BFCL (item types come from the possible answers)."""
    records, _ = bfcl.load("parallel_multiple", tmp_path)
    record = next(r for r in records if r.id.endswith("parallel_multiple_94"))
    functions, truth = record.meta["functions"], record.meta["ground_truth"]
    gold = next(perturbed_outputs(functions, truth, record.id))
    assert bfcl_checker(functions, as_bfcl(gold), truth, "parallel_multiple")
    assert check_sample("parallel", functions, as_calls(gold), truth).valid
