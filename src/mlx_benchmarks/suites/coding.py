"""``coding``: HumanEval and MBPP pass@1 with greedy decoding, each answer run in the sandbox.

The program is pulled out of the reply (``scoring.code_answer``), joined with the task's tests and run by
``scoring.sandbox``; ``pass_at_1`` is the share of problems whose program passed every test. The tags
count each failure kind (syntax error, runtime error, wrong answer, timeout) and name the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from mlx_benchmarks.datasets.base import Record
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.errors import DatasetError
from mlx_benchmarks.scoring.code_answer import code_program
from mlx_benchmarks.scoring.sandbox import check_solution, sandbox_kind
from mlx_benchmarks.suites.eval_engine import ModelOutput, Scores
from mlx_benchmarks.suites.quality_common import Defaults, QualityOptions, QualitySuite, TaskRun, TaskSpec

FAILURES = ("syntax_error", "runtime_error", "wrong_answer", "timeout")
# sandbox status -> failure kind; a memory / process-limit kill is a runtime failure of the program
FAILURE_OF_STATUS = {"failed": "wrong_answer", "syntax_error": "syntax_error", "runtime_error": "runtime_error",
                     "timeout": "timeout", "killed": "runtime_error"}


def run_code(record: Record, output: ModelOutput, *, plus: bool = False,
             timeout_s: float | None = None) -> tuple[Scores, dict[str, Any]]:
    """Execute the reply's program against the tests; ``plus`` also runs evalplus's extra tests.

    ``timeout_s`` overrides the sandbox's per-program limit (10 s base, 60 s with the extra tests).
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
    base = check_solution(spec, answer.program, timeout_s=timeout_s)
    detail.update(status=base.status, failure=FAILURE_OF_STATUS.get(base.status), error=(base.error or "")[:300],
                  sandbox=base.sandbox, run_seconds=round(base.duration_s, 3))
    if not plus:
        return {"pass_at_1": float(base.passed)}, detail
    # evalplus's "plus" verdict is base tests and extra tests together; a base failure fails both
    extra = check_solution(spec, answer.program, plus=True, timeout_s=timeout_s) if base.passed else base
    detail.update(plus_status=extra.status, plus_failure=FAILURE_OF_STATUS.get(extra.status),
                  plus_error=(extra.error or "")[:300])
    return {"pass_at_1_base": float(base.passed), "pass_at_1_plus": float(extra.passed)}, detail


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
    """Shared by the code suites: the sandbox kind goes into every result's tags."""

    def validate_options(self, options: Mapping[str, Any]) -> None:
        super().validate_options(options)
        sandbox_kind()  # a bad MLX_BENCH_SANDBOX fails before any work

    def run_tags(self) -> dict[str, object]:
        return {"sandbox": sandbox_kind()}


class CodingSuite(CodeSuite):
    """HumanEval and MBPP pass@1 (greedy)."""

    name = "coding"
    description = "HumanEval and MBPP pass@1, greedy, executed in the sandbox"
    task_names = ("humaneval", "mbpp")
    defaults = Defaults(max_tokens=512)

    def task_spec(self, name: str, opts: QualityOptions, resources: dict[str, Any]) -> TaskSpec:
        return TaskSpec(name, ("pass_at_1",), partial(run_code, plus=False), summarize_pass_at_1)
