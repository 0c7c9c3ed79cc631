"""Hugging Face dataset lakes: HfFileSystem for reading, one ``create_commit`` per publish for writing.

A commit on the hub is atomic, so every new shard of a publish appears at once or not at all; no
half-uploaded shard is ever visible. The token comes from ``HF_TOKEN`` and is never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from mlx_benchmarks.errors import PrerequisiteError, PublishError
from mlx_benchmarks.lake.location import LakeLocation
from mlx_benchmarks.lake.shards import ENVELOPE, LocalShard

TOKEN_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
REPO_TYPE = "dataset"


def hf_token(env: Mapping[str, str] | None = None) -> str | None:
    """The token from ``HF_TOKEN`` (or the older ``HUGGING_FACE_HUB_TOKEN``), if any."""
    env = os.environ if env is None else env
    for key in TOKEN_ENV:
        if env.get(key):
            return env[key]
    return None


def hf_endpoint(env: Mapping[str, str] | None = None) -> str | None:
    """``HF_ENDPOINT`` read now, not when huggingface_hub was imported (a mirror or a test double)."""
    env = os.environ if env is None else env
    return env.get("HF_ENDPOINT") or None


def _hub() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise PrerequisiteError("hf:// lakes need huggingface_hub: pip install 'mlx-benchmarks[lake]'") from None
    return huggingface_hub


def hf_filesystem(env: Mapping[str, str] | None = None) -> Any:
    """A fresh HfFileSystem (endpoint from ``HF_ENDPOINT``, token from ``HF_TOKEN`` when set)."""
    token = hf_token(env)
    # token=False: read public repositories anonymously instead of picking up a cached login
    return _hub().HfFileSystem(endpoint=hf_endpoint(env), token=token if token else False, skip_instance_cache=True)


class HfWriter:
    """Publishes shards to ``hf://datasets/ORG/NAME[/prefix]/runs/<id>/`` in a single commit."""

    def __init__(self, location: LakeLocation, api: Any = None, env: Mapping[str, str] | None = None) -> None:
        self.location = location
        self.token = hf_token(env)
        if api is None:
            api = _hub().HfApi(endpoint=hf_endpoint(env), token=self.token if self.token else False)
        self.api = api

    def complete_run_ids(self) -> set[str]:
        """Ids of shards already in the repository (their envelope.json is committed)."""
        base = "/".join(p for p in (self.location.prefix, "runs") if p) + "/"
        out = set()
        for path in self.api.list_repo_files(self.location.repo_id, repo_type=REPO_TYPE):
            rest = str(path)[len(base) :] if str(path).startswith(base) else ""
            run_id, _, name = rest.partition("/")
            if run_id and name == ENVELOPE:
                out.add(run_id)
        return out

    def upload(self, shards: Sequence[LocalShard], message: str) -> None:
        """One commit adding every file of every shard."""
        if not self.token:
            raise PublishError("publishing to a Hugging Face dataset needs a token in HF_TOKEN")
        operations = [
            _hub().CommitOperationAdd(path_in_repo=self.location.repo_path(shard.run_id, path.name), path_or_fileobj=str(path))
            for shard in shards
            for path in shard.files
        ]
        self.api.create_commit(self.location.repo_id, operations, commit_message=message, repo_type=REPO_TYPE)
