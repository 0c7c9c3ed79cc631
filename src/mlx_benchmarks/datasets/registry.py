"""Dataset name -> the loader object that extracts it ("module:ATTRIBUTE", imported lazily).

Adding a dataset is one module plus one line here.
"""

from __future__ import annotations

import importlib

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
