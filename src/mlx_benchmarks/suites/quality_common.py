"""What the quality suites share: flags, prompt templates, dataset loading, and the run skeleton.

A quality suite is a ``QualitySuite`` subclass naming its tasks; each task gives a prompt template, a
scorer and a summariser. The engine (``eval_engine``) does the sending, journaling and think stripping.
Prompt templates live here, in code, so the gold-answer test double can rebuild them exactly.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlx_benchmarks.datasets.base import DatasetInfo, Record
from mlx_benchmarks.envelope import GenKwargs, Result
from mlx_benchmarks.errors import DatasetError, UsageError
from mlx_benchmarks.scoring.extract import LETTERS
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.catalog import describe_tasks_option, unknown_tasks
from mlx_benchmarks.suites.eval_engine import EvalTask, ScoreFn, error_lines, mean_result, run_tasks
from mlx_benchmarks.suites.memory_window import TaskWindows
from mlx_benchmarks.targets.base import ChatRequest

# ------------------------------------------------------------------ prompt templates

GSM8K_TEMPLATE = (
    "Q: {question}\nA: Let's think step by step. "
    'Finish your response with "The answer is N." where N is the final number.'
)
MC_TEMPLATE = (
    "{intro}\n\nQuestion: {question}\n{options}\n\n"
    'Think briefly, then finish your response with "The answer is X." where X is one of {letters}.'
)
MATH_TEMPLATE = "{problem}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."
HUMANEVAL_TEMPLATE = (
    "Complete the following Python function. Reply with the complete function, including the signature, "
    "in one ```python code block.\n\n```python\n{prefix}```"
)
MBPP_TEMPLATE = (
    "You are an expert Python programmer, and here is your task: {text}\n\n"
    "Your code should pass the tests above. Reply with the complete code in one ```python code block."
)


def letters_for(record: Record) -> str:
    """"A, B, C or D" for a four-option record."""
    letters = list(LETTERS[: len(record.choices)])
    return ", ".join(letters[:-1]) + f" or {letters[-1]}" if len(letters) > 1 else letters[0]


def mc_prompt(record: Record) -> str:
    """Generative multiple choice: the question, lettered options, and the answer format."""
    if record.task == "mmlu" and record.subject:
        intro = f"The following is a multiple choice question about {record.subject.replace('_', ' ')}."
    else:
        intro = "The following is a multiple choice science question."
    options = "\n".join(f"{LETTERS[i]}. {choice}" for i, choice in enumerate(record.choices))
    return MC_TEMPLATE.format(intro=intro, question=record.prompt.strip(), options=options, letters=letters_for(record))


def code_prompt(record: Record) -> str:
    """HumanEval-style (complete a signature) or MBPP-style (a description and its example tests)."""
    spec = record.code
    if spec is not None and spec.prompt_prefix.strip():
        return HUMANEVAL_TEMPLATE.format(prefix=spec.prompt_prefix.rstrip() + "\n")
    return MBPP_TEMPLATE.format(text=record.prompt.strip())


def user_prompt(record: Record) -> str:
    """The one user message each task sends for a record."""
    if record.task == "gsm8k":
        return GSM8K_TEMPLATE.format(question=record.prompt.strip())
    if record.choices:
        return mc_prompt(record)
    if record.code is not None:
        return code_prompt(record)
    return MATH_TEMPLATE.format(problem=record.prompt.strip())


# ------------------------------------------------------------------ flags and options

@dataclass(frozen=True)
class QualityOptions:
    """The parsed, validated flags of a quality suite."""

    tasks: tuple[str, ...]
    limit: int | float | None  # a float in (0, 1): that fraction of each task (lm-eval's --limit 0.1)
    concurrency: int
    max_tokens: int
    temperature: float
    top_p: float | None
    data: str | None
    samples: int
    k: tuple[int, ...]

    def gen_kwargs(self) -> GenKwargs:
        return GenKwargs(max_gen_toks=self.max_tokens, temperature=self.temperature, top_p=self.top_p)

    def request(self, record: Record) -> ChatRequest:
        return ChatRequest(messages=[{"role": "user", "content": user_prompt(record)}], max_tokens=self.max_tokens,
                           temperature=self.temperature, top_p=self.top_p)


@dataclass(frozen=True)
class Defaults:
    """A suite's defaults for the shared flags."""

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float | None = None
    samples: int = 1
    k: str | None = None  # "1,5" where the suite reports pass@k
    concurrency: int = 4


def add_quality_arguments(parser: argparse.ArgumentParser, tasks: Sequence[str], defaults: Defaults,
                          *, data_help: str | None = None) -> None:
    """--tasks --limit --concurrency --max-tokens --temperature --top-p --data (and --samples --k)."""
    parser.add_argument("--tasks", default=None, metavar="T,T,...",
                        help=f"tasks to run (default: all of {', '.join(tasks)})")
    parser.add_argument("--limit", type=limit_arg, default=None, metavar="N",
                        help="a deterministic, seeded subset of N records per task, or a fraction of each task "
                             "(0.1, as lm-eval; default: all)")
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, metavar="N",
                        help=f"requests in flight (default {defaults.concurrency})")
    parser.add_argument("--score-workers", type=int, default=None, metavar="N",
                        help="processes that score answers beside the requests (default: one per core)")
    parser.add_argument("--max-tokens", type=int, default=defaults.max_tokens, metavar="N",
                        help=f"generation limit per answer (default {defaults.max_tokens})")
    parser.add_argument("--temperature", type=float, default=defaults.temperature,
                        help=f"sampling temperature (default {defaults.temperature:g})")
    parser.add_argument("--top-p", type=float, default=defaults.top_p, help="nucleus sampling (default: unset)")
    parser.add_argument("--data", default=None, metavar="PATH",
                        help=data_help or "read the dataset from this local file or folder instead")
    if defaults.k is not None:
        parser.add_argument("--samples", type=int, default=defaults.samples, metavar="N",
                            help=f"samples per problem (default {defaults.samples})")
        parser.add_argument("--k", default=defaults.k, metavar="K,K,...",
                            help=f"report pass@k for these k (default {defaults.k or 'those of 1,5,10 that fit --samples'})")


def limit_arg(text: str) -> int | float:
    """``--limit``: a count (at least 1) or, as lm-eval takes it, a fraction of each task in (0, 1)."""
    try:
        value = parse_limit(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--limit ")) from None
    if value is None:
        raise argparse.ArgumentTypeError(f"invalid limit {text!r}")
    return value


def parse_limit(value: Any) -> int | float | None:
    """A record count (>= 1) or a fraction in (0, 1); UsageError for anything else."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"--limit takes a count or a fraction in (0, 1), got {value!r}") from None
    if number.is_integer() and number >= 1:
        return int(number)
    if 0 < number < 1:
        return number
    raise UsageError(f"--limit must be at least 1, or a fraction in (0, 1) of each task; got {value}")


def _int_list(value: Any, flag: str) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    try:
        return tuple(int(part) for part in str(value).split(",") if part.strip())
    except ValueError:
        raise UsageError(f"{flag} takes comma-separated integers, got {value!r}") from None


def parse_options(options: Mapping[str, Any], tasks: Sequence[str], defaults: Defaults) -> QualityOptions:
    """Validate the flags; UsageError (before any work) for an unknown task or a bad value."""
    raw_tasks = options.get("tasks")
    chosen = tuple(t.strip() for t in str(raw_tasks).split(",") if t.strip()) if raw_tasks else tuple(tasks)
    unknown = [t for t in chosen if t not in tasks]
    if unknown or not chosen:
        raise unknown_tasks(unknown, tasks)

    def number(name: str, default: Any) -> Any:
        value = options.get(name)
        return default if value is None else value

    limit = parse_limit(options.get("limit"))
    concurrency = int(number("concurrency", defaults.concurrency))
    max_tokens = int(number("max_tokens", defaults.max_tokens))
    temperature = float(number("temperature", defaults.temperature))
    top_p = options.get("top_p", defaults.top_p)
    samples = int(number("samples", defaults.samples))
    k = _int_list(number("k", defaults.k or "1"), "--k")
    if concurrency < 1 or max_tokens < 1:
        raise UsageError("--concurrency and --max-tokens must be at least 1")
    if temperature < 0 or (top_p is not None and not 0 < float(top_p) <= 1):
        raise UsageError("--temperature must be >= 0 and --top-p in (0, 1]")
    if samples < 1 or not k or min(k) < 1 or max(k) > samples:
        raise UsageError(f"--k values must be between 1 and --samples ({samples}); got {','.join(map(str, k))}")
    return QualityOptions(tasks=chosen, limit=limit, concurrency=concurrency,
                          max_tokens=max_tokens, temperature=temperature,
                          top_p=None if top_p is None else float(top_p), data=options.get("data"),
                          samples=samples, k=tuple(sorted(set(k))))


# ------------------------------------------------------------------ datasets

def load_records(name: str, opts: QualityOptions, seed: int) -> tuple[list[Record], DatasetInfo]:
    """The task's records (a seeded subset under --limit) and the dataset's provenance.

    ``--data`` is evalplus's release file for the evalplus tasks, and for any other task a JSONL file of
    records (``datasets/records.py``) of which those whose ``task`` is this task are used.
    """
    from mlx_benchmarks.datasets import dataset_info, load_dataset, select
    from mlx_benchmarks.datasets.jsonl import file_sha256
    from mlx_benchmarks.datasets.registry import get_loader

    data = Path(opts.data).expanduser() if opts.data else None
    records = load_dataset(name, data=data)
    if data is not None and not get_loader(name).needs_data:
        records = user_records(records, name, data)
        info = DatasetInfo(name=name, source=f"user file {data}", license="as stated by the file's owner",
                           attribution="user-supplied file", sha256=file_sha256(data), count=len(records))
    else:
        info = dataset_info(name)
    if opts.limit is not None:
        records = select(records, opts.limit, seed)
    return records, info


def user_records(records: Sequence[Record], name: str, data: Path) -> list[Record]:
    """The records of a user's file that belong to task ``name``; DatasetError when there are none."""
    mine = [r for r in records if r.task == name]
    if not mine:
        raise DatasetError(f"--data {data}: no records with task {name!r}; choose tasks with --tasks")
    return mine


def check_user_data(opts: QualityOptions) -> None:
    """Before any work: a user's records file must hold records for every chosen task."""
    from mlx_benchmarks.datasets import load_dataset
    from mlx_benchmarks.datasets.registry import get_loader

    if not opts.data:
        return
    data = Path(opts.data).expanduser()
    if not data.exists():
        raise DatasetError(f"--data {data}: no such file or folder")
    plain = [name for name in opts.tasks if not get_loader(name).needs_data]
    if plain:
        records = load_dataset(plain[0], data=data)
        for name in plain:
            user_records(records, name, data)


def dataset_tags(info: DatasetInfo) -> dict[str, object]:
    return {"dataset": info.name, "dataset_sha256": info.sha256, "dataset_license": info.license,
            "dataset_source": info.source}


# ------------------------------------------------------------------ the suite skeleton

Summarize = Callable[["TaskRun"], list[Result]]


@dataclass
class TaskRun:
    """One task's records, provenance and finished samples, as its summariser sees them."""

    name: str
    info: DatasetInfo
    opts: QualityOptions
    samples: list[dict[str, Any]] = field(default_factory=list)
    wall_seconds: float | None = None
    extra_tags: dict[str, object] = field(default_factory=dict)

    def tags(self) -> dict[str, object]:
        # answers that came with reasoning (a <think> block or a reasoning field), removed before scoring
        with_reasoning = sum(1 for s in self.samples if s.get("reasoning_chars"))
        return {**dataset_tags(self.info), "n_with_reasoning": with_reasoning, **self.extra_tags}

    def mean(self, metric: str, *, name: str | None = None, samples: Sequence[dict[str, Any]] | None = None,
             tags: Mapping[str, object] | None = None) -> Result:
        """``mean_result`` with this task's limit, wall time and dataset tags."""
        chosen = self.samples if samples is None else samples
        wall = self.wall_seconds if samples is None else None
        return mean_result(name or self.name, metric, chosen, wall_seconds=wall, limit=self.opts.limit,
                           **{**self.tags(), **(tags or {})})


@dataclass(frozen=True)
class TaskSpec:
    """How a suite runs one task: its scorer, metric names and summariser."""

    name: str
    metrics: tuple[str, ...]
    score: ScoreFn
    summarize: Summarize | None = None  # default: one mean result per metric


def default_summary(run: TaskRun, metrics: Sequence[str]) -> list[Result]:
    return [run.mean(metric) for metric in metrics]


class QualitySuite:
    """Base of the quality suites: parse flags, load data, run the engine, summarise per task."""

    name = ""
    description = ""
    task_names: tuple[str, ...] = ()
    defaults = Defaults()
    data_help: str | None = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_quality_arguments(parser, self.task_names, self.defaults, data_help=self.data_help)
        describe_tasks_option(parser, self.name, self.task_names)  # every task the suite runs, by scoring

    def options(self, options: Mapping[str, Any]) -> QualityOptions:
        return parse_options(options, self.task_names, self.defaults)

    def validate_options(self, options: Mapping[str, Any]) -> None:
        check_user_data(self.options(options))

    @contextmanager
    def resources(self, opts: QualityOptions) -> Iterator[dict[str, Any]]:
        """Anything the scorers hold for the run (a math-verify worker); closed afterwards."""
        yield {}

    def task_spec(self, name: str, opts: QualityOptions, resources: dict[str, Any]) -> TaskSpec:
        raise NotImplementedError

    def run_tags(self) -> dict[str, object]:
        """Tags added to every result of the suite (e.g. the sandbox kind)."""
        return {}

    async def run(self, ctx: RunContext) -> SuiteOutcome:
        opts = self.options(ctx.options)
        loaded = {name: load_records(name, opts, ctx.seed) for name in opts.tasks}
        outcome = SuiteOutcome(gen_kwargs=opts.gen_kwargs())
        windows = TaskWindows(ctx)  # memory per task (MLX peak reset at each task's first request)
        with self.resources(opts) as resources:
            specs = [self.task_spec(name, opts, resources) for name in opts.tasks]
            tasks = [
                EvalTask(name=spec.name, records=loaded[spec.name][0],
                         build_request=windows.wrap(spec.name, opts.request), score=spec.score,
                         metrics=spec.metrics, samples_per_record=opts.samples, sample_seed=ctx.seed)
                for spec in specs
            ]
            done = await run_tasks(ctx, tasks, concurrency=opts.concurrency)
        memory = windows.close()
        for spec in specs:
            samples = done.samples.get(spec.name)
            if samples is None:  # the run stopped before this task
                continue
            run = TaskRun(spec.name, loaded[spec.name][1], opts, samples, done.wall_seconds.get(spec.name),
                          {**self.run_tags(), **memory.get(spec.name, {})})
            summary = spec.summarize(run) if spec.summarize else default_summary(run, spec.metrics)
            # a result over no scored sample (every request failed) would read as a score of 0: the
            # errors say what happened instead
            outcome.results.extend(r for r in summary if r.tags.get("n_samples") != "0")
            outcome.samples.extend(samples)
        outcome.errors.extend(error_lines(done.samples))
        if done.aborted:
            outcome.errors.append(done.aborted)
            outcome.partial = True
        outcome.partial = outcome.partial or any(s.get("error") for s in outcome.samples)
        return outcome
