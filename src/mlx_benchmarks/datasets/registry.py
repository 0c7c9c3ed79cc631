"""Dataset name -> the loader object that extracts it ("module:ATTRIBUTE", imported lazily).

Adding a dataset is one module plus one line here (and its size in ``SIZES`` when the source is pinned).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from mlx_benchmarks.datasets.loglik import FEWSHOT_CHOICES
from mlx_benchmarks.datasets.loglik import TASKS as RC_TASKS
from mlx_benchmarks.datasets.loglik import registry_entries as loglik_entries
from mlx_benchmarks.datasets.sources import DatasetLoader
from mlx_benchmarks.errors import DatasetError

DATASETS: dict[str, str] = {
    "gsm8k": "mlx_benchmarks.datasets.gsm8k:LOADER",
    "arc_challenge": "mlx_benchmarks.datasets.arc:LOADER",
    "mmlu": "mlx_benchmarks.datasets.mmlu:LOADER",
    "math500": "mlx_benchmarks.datasets.math500:LOADER",
    "mbpp": "mlx_benchmarks.datasets.mbpp:LOADER",
    "humaneval": "mlx_benchmarks.datasets.humaneval:LOADER",
    "humaneval_plus": "mlx_benchmarks.datasets.evalplus:HUMANEVAL_PLUS",
    "mbpp_plus": "mlx_benchmarks.datasets.evalplus:MBPP_PLUS",
    "jsonl": "mlx_benchmarks.datasets.jsonl:LOADER",
    "bfcl": "mlx_benchmarks.datasets.bfcl:LOADER",
    "chat_prompts_sample": "mlx_benchmarks.datasets.chat_sample:LOADER",  # throughput --dataset sample
    "mmlu_rc0": "mlx_benchmarks.datasets.mmlu_rc:ZERO_SHOT",  # lm-eval mmlu template, log-likelihood
    "mmlu_rc5": "mlx_benchmarks.datasets.mmlu_rc:FIVE_SHOT",
    "ppl_hamlet": "mlx_benchmarks.datasets.ppl_text:LOADER",
    "ifbench": "mlx_benchmarks.datasets.ifbench:LOADER",
    **loglik_entries(),  # arc_easy_rc0, hellaswag_rc5, ...: OLMES ranked-classification requests
}


# records in each pinned source, so listings show a size before anything is extracted; each loader checks
# its own count on extraction (``expect_count``), and tests/datasets/test_registry_sizes.py checks these
SIZES: dict[str, int] = {
    "gsm8k": 1319, "arc_challenge": 1172, "mmlu": 14042, "math500": 500, "mbpp": 500, "humaneval": 164,
    "humaneval_plus": 164, "mbpp_plus": 378, "bfcl": 3491, "chat_prompts_sample": 66, "mmlu_rc0": 14042,
    "mmlu_rc5": 14042, "ppl_hamlet": 1, "ifbench": 294,
    **{f"{task}_rc{shots}": rc.count for task, rc in RC_TASKS.items() for shots in FEWSHOT_CHOICES},
}


# the --tasks names that read a dataset, where they are not the dataset's own name (an rc dataset is read by
# its task); kept here so `datasets list` imports no suite. tests/cli/test_discovery.py checks it against the
# suites themselves (suites.catalog.dataset_tasks).
TASK_NAMES: dict[str, tuple[str, ...]] = {
    "ppl_hamlet": ("perplexity", "kl_divergence"), "chat_prompts_sample": ("--dataset sample",),
    "jsonl": ("--data FILE",), "mmlu_rc0": ("mmlu",), "mmlu_rc5": ("mmlu",),
    **{f"{task}_rc{shots}": (task,) for task in RC_TASKS for shots in FEWSHOT_CHOICES},
}


def task_names(name: str) -> tuple[str, ...]:
    """The ``--tasks`` names that read dataset ``name`` (BFCL's: its categories)."""
    if name == "bfcl":
        from mlx_benchmarks.datasets.bfcl import CATEGORIES

        return tuple(CATEGORIES)
    return TASK_NAMES.get(name, (name,))


@dataclass(frozen=True)
class DatasetTerms:
    """What a listing shows of a dataset without extracting it."""

    name: str
    count: int | None  # None: a user's file (``jsonl``)
    license: str
    source: str
    cached: bool
    needs_data: bool


def describe(name: str) -> DatasetTerms:
    """Size, licence and source: the cache's record when extracted, else the loader's terms and ``SIZES``."""
    from mlx_benchmarks.datasets.cache import read_info

    loader = get_loader(name)
    info = read_info(name)
    if info is not None:
        return DatasetTerms(name, info.count, info.license, info.source, True, loader.needs_data)
    return DatasetTerms(name, SIZES.get(name), loader.license, loader.source(None), False, loader.needs_data)


def names() -> list[str]:
    return sorted(DATASETS)


def get_loader(name: str) -> DatasetLoader:
    """The loader registered under ``name``; DatasetError naming the choices when unknown."""
    target = DATASETS.get(name)
    if target is None:
        raise DatasetError(f"unknown dataset {name!r}; choose one of: {', '.join(names())}")
    module_name, _, attribute = target.partition(":")
    loader: DatasetLoader = getattr(importlib.import_module(module_name), attribute)
    return loader
