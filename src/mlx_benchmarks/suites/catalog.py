"""Every task a suite runs (``--tasks`` names), read from the suites and the dataset registry themselves.

``mlx-bench tasks`` lists it (lm-eval's ``--tasks list``); each suite's ``--tasks`` help and its unknown-task
error come from it too, so a task asked of the wrong suite is answered with the suite that has it
(``knowledge --tasks arc_easy``: "arc_easy is a reasoning task, with --scoring loglikelihood").

Scoring methods: ``generative`` (the answer is generated and parsed), ``loglikelihood`` (ranked choices,
``--scoring loglikelihood``), ``logits`` (perplexity and KL divergence over a fixed text), ``agent`` (a
multi-step tool-using task). Suite modules are imported only when the catalog is read.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from mlx_benchmarks.errors import UsageError

GENERATIVE, LOGLIK, LOGITS, AGENT = "generative", "loglikelihood", "logits", "agent"
# how to ask for a scoring method on the command line, where it is not the suite's default
SCORING_FLAG = {LOGLIK: "--scoring loglikelihood"}
# knowledge's tasks that are not question sets; named here (their suites import them from here) so that the
# catalog reads them without importing the suites, which import the catalog for their option help
IF_TASKS = ("ifbench",)
QUANT_TASKS = ("perplexity", "kl_divergence")


@dataclass(frozen=True)
class TaskGroup:
    """Tasks one suite runs with one scoring method."""

    suite: str
    scoring: str
    tasks: tuple[str, ...]


@dataclass
class TaskEntry:
    """One ``--tasks`` name of one suite: how it can be scored, its datasets, size, licence and source."""

    task: str
    suite: str
    scoring: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    n: int | None = None
    license: str = ""
    source: str = ""


def suite_groups(suite: str) -> list[TaskGroup]:
    """The task groups of one suite (a speed suite has none)."""
    from mlx_benchmarks.suites.registry import get_suite

    instance = get_suite(suite)
    groups = []
    if suite == "tool-calling":
        from mlx_benchmarks.datasets import bfcl

        groups.append(TaskGroup(suite, GENERATIVE, tuple(bfcl.CATEGORIES)))
    elif suite == "framework-eval":
        from mlx_benchmarks.agents.tasks import TASKS

        groups.append(TaskGroup(suite, AGENT, tuple(t.id for t in TASKS)))
    else:
        groups.append(TaskGroup(suite, GENERATIVE, tuple(getattr(instance, "task_names", ()))))
    if suite == "knowledge":
        groups += [TaskGroup(suite, GENERATIVE, IF_TASKS), TaskGroup(suite, LOGITS, QUANT_TASKS)]
    groups.append(TaskGroup(suite, LOGLIK, tuple(getattr(instance, "loglik_task_names", ()))))
    return [g for g in groups if g.tasks]


def all_groups() -> list[TaskGroup]:
    from mlx_benchmarks.suites.registry import available

    return [group for suite in available() for group in suite_groups(suite)]


def _dataset(suite: str, scoring: str, task: str) -> str | None:
    """The registered dataset a task reads (its 0-shot file for log-likelihood), or None (built in)."""
    from mlx_benchmarks.datasets.registry import DATASETS

    if scoring == LOGLIK:
        return "mmlu_rc0" if task == "mmlu" else f"{task}_rc0"
    if scoring == LOGITS:
        return "ppl_hamlet"
    if suite == "tool-calling":
        return "bfcl"
    return task if task in DATASETS else None


def _bfcl_category_size(category: str) -> int | None:
    """Questions in one BFCL category: lines of the pinned package's data file (None when not installed)."""
    from mlx_benchmarks.datasets import bfcl
    from mlx_benchmarks.errors import BenchError

    try:
        path = bfcl.data_dir() / f"BFCL_v4_{bfcl.CATEGORIES[category][0]}.json"
        with open(path, encoding="utf-8") as handle:
            return sum(1 for line in handle if line.strip())
    except (BenchError, OSError):
        return None


def catalog() -> list[TaskEntry]:
    """Every (suite, task), in suite order; a task scored two ways is one entry listing both."""
    from mlx_benchmarks.datasets.registry import describe

    entries: dict[tuple[str, str], TaskEntry] = {}
    for group in all_groups():
        for task in group.tasks:
            entry = entries.setdefault((group.suite, task), TaskEntry(task, group.suite))
            entry.scoring.append(group.scoring)
            dataset = _dataset(group.suite, group.scoring, task)
            if dataset is None or dataset in entry.datasets:
                continue
            entry.datasets.append(dataset)
            if entry.n is None:
                terms = describe(dataset)
                entry.n = _bfcl_category_size(task) if dataset == "bfcl" else terms.count
                entry.license, entry.source = terms.license, terms.source
    for entry in entries.values():
        if entry.scoring == [AGENT]:
            entry.n, entry.license, entry.source = 1, "Apache-2.0", "written for mlx-benchmarks"
    return list(entries.values())


def dataset_tasks() -> dict[str, list[str]]:
    """Registered dataset -> the ``--tasks`` names that read it (with the suite and how, where not plain)."""
    out: dict[str, list[str]] = {"chat_prompts_sample": ["--dataset sample (throughput)"],
                                 "jsonl": ["--data FILE (quality suites)"]}
    for group in all_groups():
        for task in group.tasks:
            dataset = _dataset(group.suite, group.scoring, task)
            if dataset is None:
                continue
            name = f"{task} ({group.suite})"
            datasets = [dataset, dataset.replace("_rc0", "_rc5")] if group.scoring == LOGLIK else [dataset]
            for one in datasets:
                users = out.setdefault(one, [])
                if name not in users:
                    users.append(name)
    return out


def holders(task: str, groups: Sequence[TaskGroup] | None = None) -> list[TaskGroup]:
    """The groups (suite and scoring) that run ``task``."""
    return [g for g in (all_groups() if groups is None else groups) if task in g.tasks]


def where_is(task: str) -> str:
    """"arc_easy is a reasoning task (with --scoring loglikelihood)", a close name, or ""."""
    groups = all_groups()
    found = holders(task, groups)
    if found:
        ways = [f"{g.suite}" + (f" with {SCORING_FLAG[g.scoring]}" if g.scoring in SCORING_FLAG else "")
                for g in found]
        return f"{task} is a task of {' and of '.join(dict.fromkeys(ways))}: mlx-bench run {found[0].suite} " \
               f"{SCORING_FLAG.get(found[0].scoring, '')}{' ' if found[0].scoring in SCORING_FLAG else ''}--tasks {task}"
    close = difflib.get_close_matches(task, sorted({t for g in groups for t in g.tasks}), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]}? ({', '.join(g.suite for g in holders(close[0], groups))})"
    return ""


def unknown_tasks(unknown: Sequence[str], choices: Sequence[str], *, what: str = "task") -> UsageError:
    """The one error every suite raises for ``--tasks`` names it does not run: its choices, and for each
    unknown name the suite (and scoring) that runs it, or the closest name; ``mlx-bench tasks`` lists all."""
    hints = [hint for hint in (where_is(t) for t in unknown) if hint]
    names = ", ".join(unknown) or "(none)"
    message = f"--tasks: unknown {what} {names!r}; choose from: {', '.join(choices)}"
    return UsageError("; ".join([message, *hints]) + " (`mlx-bench tasks` lists every task)")


def tasks_help(suite: str, default: Sequence[str]) -> str:
    """The ``--tasks`` help of a suite: its default tasks and every other task it runs, by scoring."""
    parts = [f"tasks to run (default: all of {', '.join(default)})"]
    for group in suite_groups(suite):
        extra = [t for t in group.tasks if t not in default or group.scoring in SCORING_FLAG]
        if extra:
            how = f"with {SCORING_FLAG[group.scoring]}" if group.scoring in SCORING_FLAG else f"{group.scoring}, alone"
            parts.append(f"also ({how}): {', '.join(extra)}")
    return "; ".join(parts) + "; `mlx-bench tasks` lists every suite's"


def describe_tasks_option(parser: argparse.ArgumentParser, suite: str, default: Sequence[str]) -> None:
    """Rewrite the ``--tasks`` help of a suite's parser from the catalog."""
    for action in parser._actions:
        if "--tasks" in action.option_strings:
            action.help = tasks_help(suite, default)
