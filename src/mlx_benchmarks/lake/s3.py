"""S3-compatible lakes through s3fs: the filesystem for reading, a writer for publishing.

S3 has no rename and no multi-object transaction, so a shard is made visible by its last object: the
parquet files go up first and ``envelope.json`` last. Readers (``RemoteStore``) only consider shards
whose ``envelope.json`` exists, and a shard left without one (a publish killed midway) is uploaded
again in full next time; shard ids are content hashes, so that rewrite carries the same bytes.

Every object is written conditionally (``If-None-Match: *``, which S3 and moto honour; s3fs's
``mode="create"``), so two machines publishing one shard at once cannot overwrite each other: the loser
gets 412. A 412 on a file with the same bytes is someone else's identical upload, and the upload goes on;
on ``envelope.json`` it means the shard is complete already. A 412 on a file whose bytes differ (two
attempts of one run key that both finished) leaves the other writer's shard alone, whole, and reports it
as published by someone else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from mlx_benchmarks.errors import PrerequisiteError
from mlx_benchmarks.lake.location import LakeLocation
from mlx_benchmarks.lake.shards import ENVELOPE, LocalShard, complete_ids, lake_files

ENDPOINT_ENV = ("MLX_BENCH_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def endpoint_url(env: Mapping[str, str] | None = None) -> str | None:
    """The S3 endpoint: ``MLX_BENCH_S3_ENDPOINT``, else the AWS SDK variables, else AWS itself."""
    env = os.environ if env is None else env
    for key in ENDPOINT_ENV:
        if env.get(key):
            return env[key]
    return None


def s3_filesystem(env: Mapping[str, str] | None = None) -> Any:
    """A fresh s3fs filesystem; credentials come from botocore's usual chain (environment, profile)."""
    try:
        import s3fs
    except ImportError:
        raise PrerequisiteError("s3:// lakes need s3fs: pip install 'mlx-benchmarks[lake]'") from None
    options: dict[str, Any] = {
        # a publish followed by a read in one process must not see a cached listing or instance
        "skip_instance_cache": True,
        "use_listings_cache": False,
    }
    endpoint = endpoint_url(env)
    if endpoint:
        options["endpoint_url"] = endpoint
    return s3fs.S3FileSystem(**options)


class S3Writer:
    """Publishes shards to ``s3://bucket/prefix/runs/<id>/``, one object at a time, envelope last."""

    def __init__(self, location: LakeLocation, fs: Any = None) -> None:
        self.location = location
        self.fs = fs if fs is not None else s3_filesystem()

    def complete_run_ids(self) -> set[str]:
        """Ids of shards already complete in the bucket (their envelope.json exists)."""
        return complete_ids(lake_files(self.fs, self.location))

    def upload(self, shards: Sequence[LocalShard], message: str) -> set[str]:
        """Upload every file of every shard, each only if absent; ``message`` is unused (S3 has no commits).

        Returns the ids of shards another writer published (or is publishing) with other bytes.
        """
        del message
        raced = set()
        for shard in shards:
            for path in shard.files:  # ordered: envelope.json is last
                if not self._create(str(path), self.location.run_path(shard.run_id, path.name)):
                    raced.add(shard.run_id)
                    break
        return raced

    def _create(self, local: str, remote: str) -> bool:
        """Write ``remote`` unless it exists; False when it existed with other bytes (another writer's)."""
        try:
            self.fs.put_file(local, remote, mode="create")
            return True
        except FileExistsError:  # 412: someone wrote this object first
            pass
        if remote.endswith("/" + ENVELOPE):
            return False  # the shard is complete already: whoever wrote it, it is there once
        with open(local, "rb") as handle:
            return bool(self.fs.cat_file(remote) == handle.read())
