"""``--model X`` without ``--target``: X is a model to run in process, found on this machine or nowhere.

X is either a local mlx-lm folder (a path holding ``config.json``) or a Hugging Face repo id (``ORG/NAME``)
already in the local Hugging Face cache, laid out as the hub client writes it::

    <cache>/models--ORG--NAME/refs/main            the revision "main" points to
    <cache>/models--ORG--NAME/snapshots/<rev>/     the files of that revision

The cache is ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub`` (every one that is
set is searched, in that order). Nothing is downloaded: a model found nowhere is a usage error that names
every place looked at, never a silent fall-back to the embedded model.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlx_benchmarks.errors import UsageError

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class LocalModel:
    """Where a model's files are, and the revision when it came from the HF cache."""

    path: Path
    revision: str | None = None


def hf_cache_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    """The Hugging Face hub caches to search, most specific first, without duplicates."""
    env = os.environ if env is None else env
    candidates = []
    if env.get("HF_HUB_CACHE"):
        candidates.append(Path(env["HF_HUB_CACHE"]))
    if env.get("HF_HOME"):
        candidates.append(Path(env["HF_HOME"]) / "hub")
    candidates.append(Path(env.get("HOME", str(Path.home()))) / ".cache" / "huggingface" / "hub")
    out: list[Path] = []
    for path in (p.expanduser() for p in candidates):
        if path not in out:
            out.append(path)
    return out


def _snapshot(repo_dir: Path) -> LocalModel | None:
    """The snapshot ``refs/main`` names, else the only (or newest) snapshot holding a config.json."""
    snapshots = repo_dir / "snapshots"
    ref = repo_dir / "refs" / "main"
    if ref.is_file():
        revision = ref.read_text(encoding="utf-8").strip()
        if (snapshots / revision / "config.json").is_file():
            return LocalModel(snapshots / revision, revision)
    found = sorted((p for p in snapshots.glob("*") if (p / "config.json").is_file()), key=lambda p: p.stat().st_mtime)
    return LocalModel(found[-1], found[-1].name) if found else None


def resolve_local_model(name: str, env: Mapping[str, str] | None = None) -> LocalModel:
    """The folder of model ``name`` (a path or a cached repo id); UsageError naming where it looked."""
    as_path = Path(name).expanduser()
    if (as_path / "config.json").is_file():
        return LocalModel(as_path.resolve())
    looked = [f"{as_path} (no config.json there)" if as_path.exists() else f"{as_path} (no such folder)"]
    if REPO_ID.match(name):
        org, _, repo = name.partition("/")
        for cache in hf_cache_dirs(env):
            repo_dir = cache / f"models--{org}--{repo}"
            found = _snapshot(repo_dir) if repo_dir.is_dir() else None
            if found is not None:
                return found
            looked.append(str(repo_dir))
    raise UsageError(f"--model {name!r} without --target runs a local model in process, but it is not on this "
                     f"machine (looked in: {'; '.join(looked)}); give --target URL to use a server instead")
