"""Differential test: our ``accuracy`` against BFCL's own ``ast_checker`` on the same decoded calls.

Outputs come from BFCL's possible answers for every category the tool-calling suite runs: every ground-truth
alternative and perturbations of it (``tests/scoring/call_variants.py``) for the eight AST categories, and
no-call / call / broken-call mixtures for irrelevance, live_irrelevance and live_relevance. The verdicts must
agree on every one. By default a seeded sample of questions per category is checked (CI time: about 10 s of CPU);
``MLX_BENCH_REFERENCE_FULL=1`` checks every question of every category.

BFCL's checker is run as installed (``bfcl-eval`` with ``--no-deps``): its model-config module imports every
provider SDK, so that one module is replaced by a stub naming a single function-calling model whose dots are
sent as underscores, which is how our suite sends names. For the answerless categories BFCL's runner decodes
the raw output with the model's handler (not importable without its tree-sitter grammars); the function-calling
handlers' decoding, ``[{name: json.loads(arguments)}]`` where one failure fails the whole output, is written
here, and BFCL's own ``is_empty_output`` judges the result.
"""

from __future__ import annotations

import json
import os
import random
import sys
import types
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.datasets import bfcl
from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.scoring.tool_ast import check_sample
from mlx_benchmarks.scoring.tool_parsers import ParsedCall, parse_arguments
from tests.scoring.call_variants import (
    as_bfcl,
    as_calls,
    decode_like,
    gold_output,
    perturbed_outputs,
    raw_outputs,
)

STUB_MODEL = "mlx-bench-stub-FC"
FULL = bool(os.environ.get("MLX_BENCH_REFERENCE_FULL"))
PER_CATEGORY = 120  # questions per category in the default (seeded) sample
SEED = 18
# always checked: the shapes issue #18 reported, and BFCL's own gold answer that an old item-type rule refused
NAMED = ("live_multiple_955-202-1", "live_multiple_964-207-0", "parallel_multiple_94", "parallel_178")
Checker = Callable[[list[dict[str, Any]], list[dict[str, Any]], Any, str], bool]


@dataclass(frozen=True)
class StubModelConfig:
    """The one field of BFCL's ModelConfig the checker reads."""

    underscore_to_dot: bool


@dataclass
class Tally:
    """Outputs compared, per category and per kind of output, and where the verdicts differ."""

    compared: Counter[str] = field(default_factory=Counter)
    valid: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    strict_differs: Counter[str] = field(default_factory=Counter)
    disagreements: list[str] = field(default_factory=list)

    def add(self, category: str, kind: str, bfcl_valid: bool, ours: bool, strict: bool, what: object) -> None:
        self.compared[category] += 1
        self.valid[category] += bfcl_valid
        self.kinds[kind] += 1
        self.strict_differs[category] += strict != bfcl_valid
        if ours != bfcl_valid:
            self.disagreements.append(f"{category} {kind}: bfcl={bfcl_valid} ours={ours} {what}"[:400])

    def report(self, label: str) -> str:
        total = sum(self.compared.values())
        return (f"\n{label}: accuracy agrees with BFCL on {total - len(self.disagreements)}/{total} outputs "
                f"({'every question' if FULL else f'seeded sample of {PER_CATEGORY} questions per category'}); "
                f"per category {dict(self.compared)}; valid per BFCL {dict(self.valid)}; per kind {dict(self.kinds)}; "
                f"accuracy_strict differs from BFCL on {dict(+self.strict_differs)}")


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def bfcl_checker(monkeypatch_module: pytest.MonkeyPatch) -> Checker:
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
def bfcl_is_empty_output(bfcl_checker: Checker) -> Callable[[Any], bool]:
    from bfcl_eval.utils import is_empty_output  # after the stub: bfcl_eval.utils reaches the model config

    return is_empty_output  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bfcl")


def _short(record: Record) -> str:
    return record.id.rsplit("/", 1)[-1]


def sample(category: str, root: Path) -> list[Record]:
    """Every question (full profile), else a seeded sample with the named questions always in it."""
    records, _ = bfcl.load(category, root)
    if FULL or len(records) <= PER_CATEGORY:
        return list(records)
    rng = random.Random(f"{SEED}:{category}")
    chosen = set(rng.sample(range(len(records)), PER_CATEGORY))
    return [r for i, r in enumerate(records) if i in chosen or _short(r) in NAMED]


def compare_ast(checker: Checker, records: Iterable[Record], category: str, tally: Tally) -> None:
    stem, kind = bfcl.CATEGORIES[category]
    for record in records:
        functions, truth = record.meta["functions"], record.meta["ground_truth"]
        for variant, output in perturbed_outputs(functions, truth):
            expected = checker(functions, as_bfcl(output), truth, stem)  # BFCL raising would fail the test
            calls = as_calls(output)
            ours = check_sample(kind, functions, calls, truth).valid
            strict = check_sample(kind, functions, calls, truth, strict=True).valid
            tally.add(category, variant, expected, ours, strict, f"{_short(record)} {output}")


def test_accuracy_agrees_with_bfcl_ast_checker(bfcl_checker: Checker, data_root: Path) -> None:
    tally = Tally()
    for category, (_, kind) in bfcl.CATEGORIES.items():
        if kind not in bfcl.ANSWERLESS:
            compare_ast(bfcl_checker, sample(category, data_root), category, tally)
    print(tally.report("BFCL AST categories"))
    assert not tally.disagreements, "\n".join(tally.disagreements[:20])
    assert sum(tally.compared.values()) > (190_000 if FULL else 60_000)
    for category, count in tally.compared.items():  # right and wrong outputs were put to the test everywhere
        assert 0.1 < tally.valid[category] / count < 0.5, category
    kinds = ("answer", "dotted_name", "other_name", "other_function", "extra_argument", "missing_argument",
             "argument_name_case", "value", "call_order", "call_count", "extra_function")
    assert all(tally.kinds[k] > 100 for k in kinds), tally.kinds
    assert not +tally.strict_differs  # the strict reading is stricter only where no answer is due


def test_answerless_categories_agree_with_bfcl(bfcl_is_empty_output: Callable[[Any], bool], data_root: Path) -> None:
    tally = Tally()
    for category, (stem, kind) in bfcl.CATEGORIES.items():
        if kind not in bfcl.ANSWERLESS:
            continue
        for record in sample(category, data_root):
            for variant, raw in raw_outputs(record.meta["functions"]):
                try:
                    contains_call = not bfcl_is_empty_output(decode_like(json.loads, raw))
                except ValueError:  # the handler cannot decode it: no call
                    contains_call = False
                expected = not contains_call if "irrelevance" in stem else contains_call
                calls = [ParsedCall(name, parse_arguments(text), text, "native") for name, text in raw]
                ours = check_sample(kind, record.meta["functions"], calls, None).valid
                strict = check_sample(kind, record.meta["functions"], calls, None, strict=True).valid
                tally.add(category, variant, expected, ours, strict, f"{_short(record)} {raw}")
                if kind == "irrelevance":
                    assert strict == (not calls), raw  # strict: any call attempt is wrong
    print(tally.report("BFCL answerless categories"))
    assert not tally.disagreements, "\n".join(tally.disagreements[:20])
    assert tally.kinds["mixed"] > 100  # a well-formed call beside a broken one: BFCL sees no call at all
    assert set(+tally.strict_differs) <= {"irrelevance", "live_irrelevance"}
    assert tally.strict_differs["live_irrelevance"] > 0


def _record(category: str, short_id: str, root: Path) -> Record:
    records, _ = bfcl.load(category, root)
    return next(r for r in records if _short(r) == short_id)


def test_issue_18_shapes_agree(bfcl_checker: Checker, data_root: Path) -> None:
    """The two live_multiple questions of issue #18: every variant agrees, and the named shapes as BFCL has them."""
    fries, handover = (_record("live_multiple", short, data_root) for short in NAMED[:2])
    tallies = {}
    for record in (fries, handover):
        tallies[_short(record)] = tally = Tally()
        compare_ast(bfcl_checker, [record], "live_multiple", tally)
        assert not tally.disagreements, "\n".join(tally.disagreements)
        assert tally.kinds["extra_argument"] > 0 and tally.kinds["other_function"] > 0
    functions, truth = fries.meta["functions"], fries.meta["ground_truth"]
    gold = gold_output(truth)
    extra = [(gold[0][0], {**gold[0][1], "unexpected_param": 1})]
    other = [("flight_status_check", {"airlines": "Delta", "person_name": "x", "ticket_number": "1"})]
    for output, valid in ((gold, True), (extra, False), (other, False)):
        assert bfcl_checker(functions, as_bfcl(output), truth, "live_multiple") is valid
        assert check_sample("multiple", functions, as_calls(output), truth).valid is valid
    assert tallies[_short(fries)].valid["live_multiple"] >= 5  # the answer in each spelling, McDonald's and mc donalds
    # 964's answer names a parameter ("question") that its function does not declare, and the function
    # requires "statement": BFCL accepts no output there at all (not another function either), nor do we
    assert tallies[_short(handover)].valid["live_multiple"] == 0
    assert tallies[_short(handover)].compared["live_multiple"] > 20


def test_simple_item_is_checked_against_its_first_function(bfcl_checker: Checker) -> None:
    """BFCL checks a simple item against ``functions[0]``, whatever name the answer gives: so do we."""
    functions = [{"name": "first", "parameters": {"type": "dict", "properties": {"x": {"type": "integer"}},
                                                  "required": ["x"]}},
                 {"name": "second", "parameters": {"type": "dict", "properties": {"y": {"type": "string"}},
                                                   "required": ["y"]}}]
    truth = [{"second": {"x": [1]}}]
    outputs = [[("first", {"x": 1})], [("second", {"x": 1})], [("second", {"y": "a"})], [("first", {"x": 2})]]
    verdicts = [bfcl_checker(functions, as_bfcl(o), truth, "simple_python") for o in outputs]
    assert verdicts == [True, False, False, False]
    assert [check_sample("simple", functions, as_calls(o), truth).valid for o in outputs] == verdicts


def test_tuples_from_the_python_path_count_as_lists_for_tuple_parameters(bfcl_checker: Checker) -> None:
    functions = [{"name": "dist", "parameters": {"type": "dict", "required": ["a", "b"], "properties": {
        "a": {"type": "tuple", "items": {"type": "float"}}, "b": {"type": "array", "items": {"type": "float"}}}}}]
    truth = [{"dist": {"a": [[1.5, 2.5]], "b": [[3.5]]}}]
    outputs = [[("dist", {"a": (1.5, 2.5), "b": [3.5]})], [("dist", {"a": [1.5, 2.5], "b": (3.5,)})]]
    verdicts = [bfcl_checker(functions, as_bfcl(o), truth, "simple_python") for o in outputs]
    assert verdicts == [True, False]  # a tuple passes where a tuple is declared, not where an array is
    assert [check_sample("simple", functions, as_calls(o), truth).valid for o in outputs] == verdicts


def test_bfcl_own_gold_answers_that_the_old_item_type_rule_refused(bfcl_checker: Checker, data_root: Path) -> None:
    """parallel_multiple_94's gold answer scores, as under BFCL (item types come from the possible answers)."""
    record = _record("parallel_multiple", "parallel_multiple_94", data_root)
    functions, truth = record.meta["functions"], record.meta["ground_truth"]
    gold = gold_output(truth)
    assert bfcl_checker(functions, as_bfcl(gold), truth, "parallel_multiple")
    assert check_sample("parallel", functions, as_calls(gold), truth).valid


def test_suite_reports_accuracy_strict_beside_accuracy(data_root: Path) -> None:
    """A well-formed call beside a broken one on an irrelevance item: right for BFCL, wrong when strict."""
    from mlx_benchmarks.suites.tool_calling import STRICT, score_calls

    record = sample("irrelevance", data_root)[0]
    name = record.meta["functions"][0]["name"].replace(".", "_")
    mixed = [ParsedCall(name, {}, "{}", "native"), ParsedCall(name, None, '{"a": ', "native")]
    scores, _ = score_calls(record, mixed)
    assert scores["accuracy"] == 1.0 and scores[STRICT] == 0.0
    scores, _ = score_calls(record, [])
    assert scores["accuracy"] == scores[STRICT] == 1.0
