"""Shards as the lake sees them: the files of a local shard, and which remote shards are complete."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlx_benchmarks.lake.location import LakeLocation
from mlx_benchmarks.store import Store

ENVELOPE = "envelope.json"
SHARD_FILES = ("run.parquet", "results.parquet", "samples.parquet", ENVELOPE)


@dataclass(frozen=True)
class LocalShard:
    """One stored run's files, in upload order: the parquet files first, ``envelope.json`` last."""

    run_id: str
    files: tuple[Path, ...]

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for path in self.files)


def local_shards(store: Store) -> list[LocalShard]:
    """Every complete shard of a local store (its ``runs/<id>/`` holds envelope.json)."""
    out = []
    for run_id in store.run_ids():
        folder = store.runs_dir / run_id
        # envelope.json last: on a lake without transactions it is the marker of a complete shard
        files = tuple(folder / name for name in SHARD_FILES if (folder / name).is_file())
        out.append(LocalShard(run_id, files))
    return out


def lake_files(fs: Any, location: LakeLocation) -> list[str]:
    """Every file under the lake's ``runs/``, as ``runs/<id>/<name>``, from one recursive listing."""
    base = location.fs_root.strip("/") + "/" if location.fs_root else ""
    try:
        paths = fs.find(location.run_path(""))
    except FileNotFoundError:
        return []
    out = []
    for path in paths:
        relative = str(path).strip("/")
        relative = relative[len(base) :] if relative.startswith(base) else relative
        if relative.count("/") == 2 and relative.startswith("runs/"):
            out.append(relative)
    return out


def complete_ids(files: list[str]) -> set[str]:
    """Ids of the shards in a ``lake_files`` listing whose envelope.json exists."""
    return {path.split("/")[1] for path in files if path.endswith("/" + ENVELOPE)}
