"""BFCL data: extraction into the cache with provenance, checksums, seeded selection."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mlx_benchmarks.datasets import bfcl
from mlx_benchmarks.errors import PrerequisiteError


def test_extracts_once_with_provenance(tmp_path: Path) -> None:
    records, info = bfcl.load("parallel", tmp_path)
    data_path, info_path = bfcl.cache_paths("parallel", tmp_path)
    assert data_path.is_file() and info_path.is_file()
    assert info.count == len(records) == 200
    assert info.license == "Apache-2.0" and "Berkeley" in info.attribution
    assert "bfcl_eval/data/BFCL_v4_parallel.json" in info.source
    assert json.loads(info_path.read_text())["sha256"] == info.sha256
    first = records[0]
    assert first.id.startswith("bfcl/parallel/") and first.task == "parallel"
    assert first.meta["kind"] == "parallel" and first.meta["functions"] and first.meta["ground_truth"]
    assert first.prompt == first.meta["messages"][-1]["content"]


def test_tampered_cache_is_rebuilt(tmp_path: Path) -> None:
    _, info = bfcl.load("live_relevance", tmp_path)
    data_path, _ = bfcl.cache_paths("live_relevance", tmp_path)
    data_path.write_text("garbage\n")
    records, again = bfcl.load("live_relevance", tmp_path)
    assert again.sha256 == info.sha256 and len(records) == info.count
    assert all(r.meta["ground_truth"] is None for r in records)


def test_every_category_loads(tmp_path: Path) -> None:
    counts = {c: bfcl.ensure_cached(c, tmp_path).count for c in bfcl.CATEGORIES}
    assert all(n > 0 for n in counts.values())
    assert counts["simple"] == 400 and counts["live_irrelevance"] > 800


def test_seeded_selection_is_stable_and_ordered(tmp_path: Path) -> None:
    records, _ = bfcl.load("simple", tmp_path)
    a = bfcl.select(records, 10, 1, "simple")
    assert [r.id for r in a] == [r.id for r in bfcl.select(records, 10, 1, "simple")]
    assert [r.id for r in a] != [r.id for r in bfcl.select(records, 10, 2, "simple")]
    assert [records.index(r) for r in a] == sorted(records.index(r) for r in a)
    assert len(bfcl.select(records, None, 1, "simple")) == 400


def test_missing_package_is_a_prerequisite_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PrerequisiteError, match="pip install --no-deps bfcl-eval"):
        bfcl.load("simple", tmp_path)
