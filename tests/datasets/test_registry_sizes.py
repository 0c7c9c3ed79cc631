"""The sizes ``datasets list`` and ``mlx-bench tasks`` show before extraction (``registry.SIZES``) are the counts
the pinned sources really give: each dataset is extracted (or read from the shared test cache) and counted."""

from __future__ import annotations

import pytest

from mlx_benchmarks.datasets.api import dataset_info
from mlx_benchmarks.datasets.evalplus import HUMANEVAL_PLUS, MBPP_PLUS
from mlx_benchmarks.datasets.registry import SIZES, describe, get_loader, names


def test_every_dataset_from_a_pinned_source_has_a_size() -> None:
    assert {n for n in names() if n not in SIZES} == {"jsonl"}  # the user's own file has none


@pytest.mark.parametrize("name", sorted(n for n in SIZES if not get_loader(n).needs_data))
def test_the_pinned_size_is_what_extraction_gives(name: str) -> None:
    assert dataset_info(name).count == SIZES[name] == describe(name).count


def test_evalplus_sizes_are_the_release_files() -> None:
    assert (SIZES["humaneval_plus"], SIZES["mbpp_plus"]) == (HUMANEVAL_PLUS.count, MBPP_PLUS.count)
