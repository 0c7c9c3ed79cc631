"""Publish in the seed's flat layout: ``data/run-….parquet`` in a folder, a bucket or a dataset.

``publish_upstream`` copies a local store (``mlx-bench publish --layout upstream``); ``publish_seed_file``
uploads one envelope as the seed's ``mlx-bench-publish`` does. File names end in a hash of the file's
bytes (the seed's ``target_path``), so a run already published has a file of that name and is skipped;
nothing is ever overwritten. Each file is one object (one S3 PUT, one atomic rename locally,
all new files in one hub commit), so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.errors import BenchError, PublishError
from mlx_benchmarks.lake.location import LakeLocation, describe, parse_location
from mlx_benchmarks.lake.publish import PublishReport
from mlx_benchmarks.lake.upstream import DATA_DIR, upstream_file
from mlx_benchmarks.lake.upstream_read import read_upstream
from mlx_benchmarks.paths import is_remote
from mlx_benchmarks.store import Store

UpstreamFile = tuple[str, bytes]  # (file name, Parquet bytes)


@dataclass(frozen=True)
class SeedUpload:
    """What ``publish_seed_file`` did: the path in the repository, the file's size, whether it went up."""

    path: str
    size: int
    uploaded: bool
    present: bool  # a file of that name was there already


class UpstreamWriter(Protocol):
    """What a destination does for an upstream publish."""

    def existing_names(self) -> set[str]: ...

    def upload(self, files: Sequence[UpstreamFile], message: str) -> None: ...


class FolderWriter:
    """``<folder>/data/<name>``, each written to a temporary file and renamed into place."""

    def __init__(self, root: Path) -> None:
        self.data = root.expanduser() / DATA_DIR

    def existing_names(self) -> set[str]:
        return {p.name for p in self.data.glob("*.parquet")} if self.data.is_dir() else set()

    def read(self, name: str) -> bytes:
        return (self.data / name).read_bytes()

    def upload(self, files: Sequence[UpstreamFile], message: str) -> None:
        del message
        self.data.mkdir(parents=True, exist_ok=True)
        for name, data in files:
            final = self.data / name
            if final.exists():
                continue
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.data)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(tmp, 0o644)
                os.link(tmp, final)  # create-only: a writer that got there first keeps its file (the same bytes)
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)


class S3DataWriter:
    """``s3://bucket/prefix/data/<name>``, one PUT per file."""

    def __init__(self, location: LakeLocation, fs: Any = None) -> None:
        from mlx_benchmarks.lake.s3 import s3_filesystem

        self.base = f"{location.fs_root}/{DATA_DIR}"
        self.fs = fs if fs is not None else s3_filesystem()

    def existing_names(self) -> set[str]:
        try:
            return {str(p).rsplit("/", 1)[-1] for p in self.fs.glob(f"{self.base}/*.parquet")}
        except FileNotFoundError:
            return set()

    def read(self, name: str) -> bytes:
        data: bytes = self.fs.cat_file(f"{self.base}/{name}")
        return data

    def upload(self, files: Sequence[UpstreamFile], message: str) -> None:
        del message
        for name, data in files:
            # conditional PUT (If-None-Match): an object already there (another writer's file of this name,
            # so of these bytes) is never replaced
            with contextlib.suppress(FileExistsError):
                self.fs.pipe_file(f"{self.base}/{name}", data, mode="create")


class HfDataWriter:
    """``hf://datasets/ORG/NAME[/prefix]/data/<name>``, every new file in one commit."""

    def __init__(self, location: LakeLocation, api: Any = None, env: Any = None) -> None:
        from mlx_benchmarks.lake.hf import HfWriter

        self.shards = HfWriter(location, api=api, env=env)  # token and api handling are the same
        self.base = "/".join(p for p in (location.prefix, DATA_DIR) if p) + "/"
        self.env = env

    def read(self, name: str) -> bytes:
        from mlx_benchmarks.lake.hf import hf_filesystem

        data: bytes = hf_filesystem(self.env).cat_file(f"{self.shards.location.fs_root}/{DATA_DIR}/{name}")
        return data

    def existing_names(self) -> set[str]:
        """The file names under ``data/`` at the main branch's current revision (the next commit's parent)."""
        return {p[len(self.base) :] for p in self.shards.listing() if p.startswith(self.base) and p.endswith(".parquet")}

    def upload(self, files: Sequence[UpstreamFile], message: str) -> None:
        """One commit of every file still missing, retried as the shard writer retries (``hf.HfWriter.commit``)."""
        from mlx_benchmarks.lake.hf import _hub

        self.shards.commit(files, key=lambda file: file[0], present=self.existing_names, message=message,
                           operations=lambda file: [_hub().CommitOperationAdd(path_in_repo=self.base + file[0],
                                                                              path_or_fileobj=file[1])])


def same_run_there(lake: Any, name: str, envelope: JSON, present: set[str]) -> str | None:
    """A file in ``present`` with ``name``'s stem (all but the hash) holding ``envelope``: the same run
    written by another pyarrow (other bytes, so another hash). Read only when such a name exists."""
    stem = name[: -len("-00000000.parquet")]
    read = getattr(lake, "read", None)
    for other in sorted(present):
        if read is None or len(other) != len(name) or not other.startswith(stem + "-"):
            continue
        try:
            if read_upstream(read(other), where=f"{DATA_DIR}/{other}") == envelope:
                return other
        except Exception:  # a file we cannot read or rebuild is not the same run; publishing ours is safe
            continue
    return None


def upstream_writer_for(to: str) -> UpstreamWriter:
    if not is_remote(to):
        return FolderWriter(Path(to.removeprefix("file://")))
    location = parse_location(to)
    return S3DataWriter(location) if location.kind == "s3" else HfDataWriter(location)


def publish_upstream(store: Store, to: str, *, dry_run: bool = False, writer: Any = None) -> PublishReport:
    """Write every run of ``store`` that ``to`` lacks as an upstream flat Parquet file under ``data/``.

    ``new`` and ``present`` in the report are file names. ``writer`` replaces the backend (tests).
    """
    url = parse_location(to).url if is_remote(to) else to
    envelopes = {upstream_file(e)[0]: e for e in (store.envelope(run_id) for run_id in store.run_ids())}
    files = [upstream_file(envelope) for envelope in envelopes.values()]
    try:
        lake: UpstreamWriter = writer if writer is not None else upstream_writer_for(to)
        listed = lake.existing_names()
        # the same run there under another hash (another pyarrow's bytes) counts as there
        present = listed | {n for n, e in envelopes.items() if n not in listed and same_run_there(lake, n, e, listed)}
        new = sorted({name: data for name, data in files if name not in present}.items())
        if new and not dry_run:
            lake.upload(new, f"mlx-bench publish: {len(new)} run{'s' if len(new) != 1 else ''} (upstream layout)")
    except BenchError:
        raise
    except Exception as exc:  # one scrubbed line, no chained traceback holding a token
        raise PublishError(f"publish to {url} failed: {describe(exc)}") from None
    return PublishReport(
        url=url,
        new=[name for name, _ in new],
        present=sorted({name for name, _ in files if name in present}),
        files=len(new),
        bytes=sum(len(data) for _, data in new),
        dry_run=dry_run,
    )


SEED_REPO_ID = "JacobPEvans/mlx-benchmarks"  # the seed publisher's default dataset


def seed_commit_message(envelope: JSON) -> str:
    """The seed publisher's commit message."""
    return f"feat: add {envelope['suite']} run for {envelope['model']}"


def publish_seed_file(envelope: JSON, repo_id: str = SEED_REPO_ID, *, dry_run: bool = False,
                      writer: Any = None, env: Mapping[str, str] | None = None) -> SeedUpload:
    """Upload one envelope to ``data/<name>`` of the dataset ``repo_id`` in one commit, as the seed's
    ``publish`` does; a file of that name already there is left alone. ``writer`` replaces the hub (tests)."""
    name, data = upstream_file(envelope)
    path = f"{DATA_DIR}/{name}"
    if dry_run:
        return SeedUpload(path=path, size=len(data), uploaded=False, present=False)
    url = f"hf://datasets/{repo_id}"
    try:
        lake: UpstreamWriter = writer if writer is not None else HfDataWriter(parse_location(url), env=env)
        if isinstance(lake, HfDataWriter) and not lake.shards.token:
            raise PublishError("HF_TOKEN not set: export HF_TOKEN before publishing")
        present = lake.existing_names()
        if name in present or same_run_there(lake, name, envelope, present):
            return SeedUpload(path=path, size=len(data), uploaded=False, present=True)
        lake.upload([(name, data)], seed_commit_message(envelope))
    except BenchError:
        raise
    except Exception as exc:  # one scrubbed line, no chained traceback holding a token
        raise PublishError(f"HF upload failed for {path} in {repo_id}: {describe(exc)}") from None
    return SeedUpload(path=path, size=len(data), uploaded=True, present=False)
