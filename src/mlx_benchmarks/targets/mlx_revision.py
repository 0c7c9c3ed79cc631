"""Model revisions for local MLX folders: the HF snapshot hash, else a content hash of the weights.

Hashing gigabytes of weights on every run would cost seconds, so digests are cached under the local
cache, keyed by path, size and modification time; a changed file is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from mlx_benchmarks.paths import cache_dir

REVISION_CHARS = 12
_CHUNK = 8 * 1024 * 1024


def hf_snapshot_revision(folder: Path) -> str | None:
    """The commit hash when ``folder`` is ``.../snapshots/<hash>`` (or inside one) of an HF cache."""
    parts = folder.absolute().parts
    for index in range(len(parts) - 1, 0, -1):
        if parts[index - 1] == "snapshots":
            return parts[index]
    return None


def _index_path() -> Path:
    return cache_dir() / "digests.json"


def _read_index() -> dict[str, str]:
    try:
        loaded = json.loads(_index_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _write_index(index: dict[str, str]) -> None:
    path = _index_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".digests.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(index, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        # a read-only cache only costs a rehash next time
        return


def _key(files: list[Path]) -> str:
    parts = []
    for file in files:
        stat = file.stat()
        parts.append(f"{file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def files_sha256(files: list[Path]) -> str:
    """The sha256 hex digest of the files' bytes in the given order (cached by path, size, mtime)."""
    key = _key(files)
    index = _read_index()
    if key in index:
        return index[key]
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as handle:
            while block := handle.read(_CHUNK):
                digest.update(block)
    hexdigest = digest.hexdigest()
    index[key] = hexdigest
    _write_index(index)
    return hexdigest


def weights_revision(folder: Path) -> str | None:
    """HF snapshot hash when the folder sits in an HF cache, else a sha256 prefix of the weights."""
    snapshot = hf_snapshot_revision(folder)
    if snapshot is not None:
        return snapshot
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    return "sha256:" + files_sha256(files)[:REVISION_CHARS]
