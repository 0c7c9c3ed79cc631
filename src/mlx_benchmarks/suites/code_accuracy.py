"""``code-accuracy``: pass@k from n sampled answers per problem, and how the failures fail.

Per task: ``pass_at_<k>`` for each ``--k`` (the unbiased estimator 1 - C(n-c, k) / C(n, k), averaged
over problems) and ``failure_rate_<kind>`` for syntax_error, runtime_error, wrong_answer and timeout:
the share of all scored samples that failed that way, with the counts in the tags.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from mlx_benchmarks.envelope import Result
from mlx_benchmarks.scoring.pass_at_k import pass_at_k
from mlx_benchmarks.suites.coding import CodeSuite, count_tags, failure_counts
from mlx_benchmarks.suites.eval_engine import stderr_of, timing_fields
from mlx_benchmarks.suites.quality_common import Defaults, QualityOptions, TaskRun, TaskSpec

DEFAULT_KS = (1, 5, 10)

def problem_counts(samples: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """(n scored samples, c passed) per problem id; errored samples are not part of n."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sample in samples:
        if sample.get("error"):
            continue
        entry = counts[str(sample["id"])]
        entry[0] += 1
        entry[1] += int(float((sample.get("scores") or {}).get("pass_at_1", 0.0)) == 1.0)
    return {pid: (n, c) for pid, (n, c) in counts.items()}

def _result(run: TaskRun, metric: str, value: float, **tags: object) -> Result:
    result = Result(name=run.name, metric=metric, value=value, unit="ratio")
    for key, number in timing_fields(run.samples, run.wall_seconds).items():
        setattr(result, key, number)
    return result.tag(n_limit=run.opts.limit if run.opts.limit else "all", **run.tags(), **tags)

def summarize_pass_at_k(run: TaskRun) -> list[Result]:
    counts = problem_counts(run.samples)
    errors = sum(1 for s in run.samples if s.get("error"))
    out = []
    for k in run.opts.k:
        # a problem with fewer than k scored samples (the rest errored) cannot give pass@k
        values = [pass_at_k(n, c, k) for n, c in counts.values() if n >= k]
        out.append(_result(run, f"pass_at_{k}", sum(values) / len(values) if values else 0.0,
                           stderr=stderr_of(values), n_problems=len(values), n_samples_per_problem=run.opts.samples,
                           n_samples=sum(n for n, _ in counts.values()), n_errors=errors, k=k,
                           temperature=run.opts.temperature, higher_is_better=True))
    scored = sum(n for n, _ in counts.values())
    tags = count_tags(run.samples)
    for kind, count in failure_counts(run.samples).items():
        out.append(_result(run, f"failure_rate_{kind}", count / scored if scored else 0.0,
                           n_samples=scored, n_errors=errors, higher_is_better=False, **tags))
    return out

class CodeAccuracySuite(CodeSuite):
    """pass@k with sampling, plus the failure taxonomy, on HumanEval and MBPP."""

    name = "code-accuracy"
    description = "HumanEval and MBPP pass@k from n samples per problem, with a failure taxonomy"
    task_names = ("humaneval", "mbpp")
    defaults = Defaults(max_tokens=512, temperature=0.8, top_p=0.95, samples=10, k="")

    def options(self, options: Mapping[str, Any]) -> QualityOptions:
        if not options.get("k"):  # default: the usual k values this many samples can give
            samples = int(options.get("samples") or self.defaults.samples)
            options = {**options, "k": ",".join(str(k) for k in DEFAULT_KS if k <= samples)}
        return super().options(options)

    def task_spec(self, name: str, opts: QualityOptions, resources: dict[str, Any]) -> TaskSpec:
        return TaskSpec(name, ("pass_at_1",), self.code_scorer(plus=False), summarize_pass_at_k)
