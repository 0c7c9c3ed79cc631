"""Copy a local store's new shards to a shared lake (an S3 bucket or a Hugging Face dataset).

Shard ids are content hashes (or, for ``mlx-bench run``, hashes of the run key), so publishing is
idempotent: a shard already complete in the lake is skipped, never overwritten, and publishing the same
store twice reports "0 new". Many machines may publish to one lake at once: S3 writes are conditional
(a shard another writer got there first with is left as it is), and a Hugging Face commit that lost a
race (409, 412) or was rate-limited (429) is retried with only the shards still missing
(docs/fleet.md). A backend's ``upload`` returns the ids another writer had published meanwhile; they
are reported as present, not new. Every failure of the remote side becomes one ``PublishError`` line
with credentials scrubbed from it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mlx_benchmarks.envelope import JSON
from mlx_benchmarks.errors import BenchError, PublishError
from mlx_benchmarks.lake.location import LakeLocation, describe, parse_location
from mlx_benchmarks.lake.shards import LocalShard, local_shards
from mlx_benchmarks.store import Store


class LakeWriter(Protocol):
    """What a lake backend does for publishing."""

    def complete_run_ids(self) -> set[str]: ...

    def upload(self, shards: Sequence[LocalShard], message: str) -> set[str] | None: ...


@dataclass(frozen=True)
class PublishReport:
    """What a publish did (or, with ``dry_run``, would do)."""

    url: str
    new: list[str]
    present: list[str]
    files: int
    bytes: int
    dry_run: bool

    def to_json(self) -> JSON:
        return {
            "url": self.url,
            "new": self.new,
            "present": self.present,
            "files": self.files,
            "bytes": self.bytes,
            "dry_run": self.dry_run,
        }

    def summary(self) -> str:
        """``3 new runs (12 files, 40.1 kB) to s3://...; 2 already there``."""
        verb = "would publish" if self.dry_run else "published"
        size = f"{self.bytes / 1000:.1f} kB"
        return (
            f"{verb} {len(self.new)} new run{'s' if len(self.new) != 1 else ''} "
            f"({self.files} files, {size}) to {self.url}; {len(self.present)} already there"
        )


def writer_for(location: LakeLocation) -> LakeWriter:
    """The writer of a lake kind, created lazily so optional libraries load only when used."""
    if location.kind == "s3":
        from mlx_benchmarks.lake.s3 import S3Writer

        return S3Writer(location)
    from mlx_benchmarks.lake.hf import HfWriter

    return HfWriter(location)


def commit_message(shards: Sequence[LocalShard]) -> str:
    ids = ", ".join(s.run_id for s in shards[:3]) + (f" and {len(shards) - 3} more" if len(shards) > 3 else "")
    return f"mlx-bench publish: {len(shards)} run{'s' if len(shards) != 1 else ''} ({ids})"


def publish(store: Store, to: str, *, dry_run: bool = False, writer: Any = None,
            run_ids: Collection[str] | None = None) -> PublishReport:
    """Upload the shards of ``store`` that ``to`` lacks; with ``dry_run``, only list them.

    ``run_ids`` limits the publish to those shards (a fleet node publishes the one it just ran).
    ``writer`` replaces the backend (tests pass a double). Raises PublishError on remote failures.
    """
    location = parse_location(to)
    shards = [s for s in local_shards(store) if run_ids is None or s.run_id in run_ids]
    try:
        lake: LakeWriter = writer if writer is not None else writer_for(location)
        present = lake.complete_run_ids()
        new = [s for s in shards if s.run_id not in present]
        if new and not dry_run:
            raced = lake.upload(new, commit_message(new)) or set()
            present = present | raced
            new = [s for s in new if s.run_id not in raced]
    except BenchError:
        raise
    except Exception as exc:  # any library error: one scrubbed line, no chained traceback holding the token
        raise PublishError(f"publish to {location.url} failed: {describe(exc)}") from None
    return PublishReport(
        url=location.url,
        new=[s.run_id for s in new],
        present=sorted(s.run_id for s in shards if s.run_id in present),
        files=sum(len(s.files) for s in new),
        bytes=sum(s.size for s in new),
        dry_run=dry_run,
    )
