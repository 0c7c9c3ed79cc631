"""``evalplus``: HumanEval+ and MBPP+ pass@1, base tests and base + extra tests, from the user's files.

No package registry carries the evalplus release files: ``--data PATH`` points at them, or they are
cached once with ``mlx-bench datasets prepare`` (see docs/quality.md). Results per task: ``pass_at_1_base`` (the original tests) and ``pass_at_1_plus`` (the
original and evalplus's extra tests, evalplus's "plus" column).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlx_benchmarks.datasets.api import cached_info
from mlx_benchmarks.datasets.evalplus import HUMANEVAL_PLUS, MBPP_PLUS
from mlx_benchmarks.envelope import Result
from mlx_benchmarks.errors import DatasetError
from mlx_benchmarks.suites.coding import CodeSuite, count_tags
from mlx_benchmarks.suites.quality_common import Defaults, QualityOptions, TaskRun, TaskSpec


def how_to_get() -> str:
    """One line: what --data wants and where the evalplus release files come from."""
    return (
        "evalplus needs evalplus's release files, which no package registry carries: download "
        f"{HUMANEVAL_PLUS.url} and {MBPP_PLUS.url} on a machine with internet, then pass --data PATH "
        "(a folder holding both, or one file with --tasks humaneval_plus or --tasks mbpp_plus), or cache them once "
        "with `mlx-bench datasets prepare humaneval_plus mbpp_plus --data PATH`"
    )


def summarize_plus(run: TaskRun) -> list[Result]:
    return [run.mean("pass_at_1_base", tags=count_tags(run.samples)),
            run.mean("pass_at_1_plus", tags=count_tags(run.samples, "plus_failure"))]


class EvalPlusSuite(CodeSuite):
    """HumanEval+ / MBPP+ base and plus pass@1 (greedy)."""

    name = "evalplus"
    description = "HumanEval+ and MBPP+ pass@1 on base and extra tests (needs --data)"
    task_names = ("humaneval_plus", "mbpp_plus")
    defaults = Defaults(max_tokens=768)
    semantics = "evalplus"  # checks (and the canary) run as evalplus's untrusted_check
    data_help = "evalplus release files: a folder with HumanEvalPlus*.jsonl.gz and MbppPlus*.jsonl.gz, or one file"

    def validate_options(self, options: Mapping[str, Any]) -> None:
        super().validate_options(options)
        # without --data, files cached earlier (``mlx-bench datasets prepare ... --data``) are used
        if not options.get("data") and any(cached_info(task) is None for task in self.options(options).tasks):
            raise DatasetError(how_to_get())

    def task_spec(self, name: str, opts: QualityOptions, resources: dict[str, Any]) -> TaskSpec:
        return TaskSpec(name, ("pass_at_1_base", "pass_at_1_plus"), self.code_scorer(plus=True), summarize_plus)
