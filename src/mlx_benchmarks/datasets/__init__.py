"""Datasets: one loader per dataset, records normalised to ``Record``, cached and checksummed.

``load_dataset``, ``dataset_info``, ``available_datasets``, ``select`` and ``prepare`` are the API.
"""

from __future__ import annotations

from mlx_benchmarks.datasets.api import available_datasets, dataset_info, load_dataset, prepare, select
from mlx_benchmarks.datasets.base import CodeSpec, DatasetInfo, Record

__all__ = [
    "CodeSpec",
    "DatasetInfo",
    "Record",
    "available_datasets",
    "dataset_info",
    "load_dataset",
    "prepare",
    "select",
]
