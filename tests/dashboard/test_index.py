"""The shard index: persisted, incremental, never stale, safe to delete, never touching the shards."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks import index as index_module
from mlx_benchmarks.index import INDEX_DIR, MAX_PARTS, ShardIndex
from mlx_benchmarks.store import Store
from mlx_benchmarks.views import ViewSource, leaderboard, run_list
from tests.dashboard.store_builder import MODELS, add_run, build_store


def _shard_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "runs").rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _ids(index: ShardIndex) -> list[str]:
    return list(index.tables["run"].column("run_id").to_pylist())


def test_index_covers_every_shard_and_leaves_them_untouched(tmp_path: Path) -> None:
    built = build_store(tmp_path, days=2)
    before = _shard_digest(tmp_path)
    index = ShardIndex(tmp_path)
    assert index.refresh() is True
    assert sorted(_ids(index)) == sorted(r.run_id for r in built.runs)
    expected_results = sum(len(r.envelope["results"]) for r in built.runs)
    assert index.tables["results"].num_rows == expected_results
    assert index.refresh() is False  # nothing new: no work, same generation
    assert _shard_digest(tmp_path) == before
    assert (tmp_path / INDEX_DIR / "v1" / "manifest.json").is_file()


def test_a_restarted_reader_loads_the_persisted_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = build_store(tmp_path, days=2)
    ShardIndex(tmp_path).refresh()

    def no_shard_reads(*args: object) -> None:
        raise AssertionError("the persisted index should have covered every shard")

    monkeypatch.setattr(index_module, "read_shards", no_shard_reads)
    again = ShardIndex(tmp_path)
    again.refresh()
    assert sorted(_ids(again)) == sorted(r.run_id for r in built.runs)


def test_new_shards_appear_at_once_and_parts_get_compacted(tmp_path: Path) -> None:
    built = build_store(tmp_path, days=1)
    source = ViewSource(Store(tmp_path))
    assert run_list(source)["total"] == len(built.runs)
    for day in range(10, 10 + MAX_PARTS + 2):
        run = add_run(built, 0, day)
        board = next(b for b in leaderboard(source) if b["suite"] == "throughput")
        assert next(r for r in board["rows"] if r["model"] == MODELS[0])["run_id"] == run.run_id
    assert run_list(source)["total"] == len(built.runs)
    parts = list((tmp_path / INDEX_DIR / "v1").glob("run-*.parquet"))
    assert 1 <= len(parts) <= MAX_PARTS
    fresh = ShardIndex(tmp_path)
    fresh.refresh()
    ids = _ids(fresh)
    assert len(ids) == len(set(ids)) == len(built.runs)


def test_deleting_the_index_is_safe(tmp_path: Path) -> None:
    build_store(tmp_path, days=2)
    first = leaderboard(ViewSource(Store(tmp_path)))
    shutil.rmtree(tmp_path / INDEX_DIR)
    assert leaderboard(ViewSource(Store(tmp_path))) == first
    # a corrupt manifest is ignored and rebuilt, never trusted
    (tmp_path / INDEX_DIR / "v1" / "manifest.json").write_text("{not json", encoding="utf-8")
    assert leaderboard(ViewSource(Store(tmp_path))) == first


def test_a_vanished_shard_is_dropped_not_served(tmp_path: Path) -> None:
    built = build_store(tmp_path, days=2)
    source = ViewSource(Store(tmp_path))
    newest = built.latest(MODELS[1], "throughput")
    assert any(r["run_id"] == newest.run_id for b in leaderboard(source) for r in b["rows"])
    shutil.rmtree(tmp_path / "runs" / newest.run_id)
    rows = [r for b in leaderboard(source) for r in b["rows"]]
    assert newest.run_id not in {r["run_id"] for r in rows}
    assert run_list(source)["total"] == len(built.runs) - 1


def test_an_unwritable_index_still_serves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = build_store(tmp_path, days=1)

    def refuse(*args: object) -> None:
        raise PermissionError("read-only store")

    monkeypatch.setattr(index_module, "_atomic_parquet", refuse)
    assert run_list(ViewSource(Store(tmp_path)))["total"] == len(built.runs)
    assert not (tmp_path / INDEX_DIR / "v1" / "manifest.json").exists()


class GlobOnlyStore:
    """A store seen only through DuckDB globs, the way a remote lake is read (no index)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def glob(self, table: str) -> str:
        return self._store.glob(table)

    def has_table(self, table: str) -> bool:
        return self._store.has_table(table)

    def connect(self) -> Any:
        return self._store.connect()


def test_the_glob_path_and_the_index_agree(tmp_path: Path) -> None:
    build_store(tmp_path, days=3)
    indexed, globbed = ViewSource(Store(tmp_path)), ViewSource(GlobOnlyStore(Store(tmp_path)))
    assert leaderboard(globbed) == leaderboard(indexed)
    assert run_list(globbed, limit=1000) == run_list(indexed, limit=1000)
    assert globbed.generation is None and indexed.generation == 1  # only the local store was indexed, once
