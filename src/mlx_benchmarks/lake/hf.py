"""Hugging Face dataset lakes: HfFileSystem for reading, one ``create_commit`` per publish for writing.

A commit on the hub is atomic, so every new shard of a publish appears at once or not at all; no
half-uploaded shard is ever visible. The token comes from ``HF_TOKEN`` and is never logged.

Many machines may publish to one repository at once. The hub takes one commit per repository at a time
(409 to the others) and limits commits per hour (429), so a commit is retried with exponential backoff
(full jitter; ``Retry-After`` honoured, up to ``RetryPolicy.max_wait_s``). Every commit names the revision
its listing was read at (``parent_commit``): when another commit landed in between, the hub answers 412.
After any of these the repository is listed again and only the shards still missing are committed, so a
shard another machine published meanwhile is neither committed twice nor overwritten.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mlx_benchmarks.errors import PrerequisiteError, PublishError
from mlx_benchmarks.lake.location import LakeLocation
from mlx_benchmarks.lake.shards import ENVELOPE, LocalShard

TOKEN_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
REPO_TYPE = "dataset"
RETRY_STATUS = frozenset({409, 412, 429})  # another commit in progress, the branch moved, rate limited
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How a commit that lost a race or was rate-limited is retried."""

    attempts: int = 8
    base_s: float = 1.0
    cap_s: float = 60.0
    max_wait_s: float = 300.0  # the longest Retry-After obeyed; longer is a failure, reported

    def delay(self, attempt: int, retry_after: float | None, rng: Callable[[], float] = random.random) -> float:
        """Seconds before retry ``attempt`` (0-based): the server's Retry-After, else full-jitter backoff."""
        if retry_after is not None:
            return retry_after
        return float(rng() * min(self.cap_s, self.base_s * 2**attempt))


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a huggingface_hub error (``HfHubHTTPError.response``), if it has one."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_s(exc: BaseException) -> float | None:
    """The ``Retry-After`` of an error's response, in seconds, when it gives a number."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        return max(0.0, float(str(headers.get("retry-after") or headers.get("Retry-After"))))
    except (TypeError, ValueError):  # absent ("None"), or an HTTP date: back off on our own
        return None


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

    def __init__(self, location: LakeLocation, api: Any = None, env: Mapping[str, str] | None = None, *,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.location = location
        self.token = hf_token(env)
        if api is None:
            api = _hub().HfApi(endpoint=hf_endpoint(env), token=self.token if self.token else False)
        self.api = api
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.retries: list[int] = []  # the status of every commit retried, in order (what a publish went through)
        self.listed_at: str | None = None  # the revision the last listing was read at

    def head(self) -> str | None:
        """The revision the repository's main branch is at now (None when the api cannot say)."""
        info = getattr(self.api, "repo_info", None)
        sha = info(self.location.repo_id, repo_type=REPO_TYPE).sha if info is not None else None
        return str(sha) if sha else None

    def listing(self) -> list[str]:
        """Every file path in the repository, read at the main branch's current revision, which the next
        commit names as its parent."""
        self.listed_at = self.head()
        options = {"revision": self.listed_at} if self.listed_at else {}
        return [str(p) for p in self.api.list_repo_files(self.location.repo_id, repo_type=REPO_TYPE, **options)]

    def complete_run_ids(self) -> set[str]:
        """Ids of shards already in the repository (their envelope.json is committed)."""
        base = "/".join(p for p in (self.location.prefix, "runs") if p) + "/"
        out = set()
        for path in self.listing():
            rest = path[len(base) :] if path.startswith(base) else ""
            run_id, _, name = rest.partition("/")
            if run_id and name == ENVELOPE:
                out.add(run_id)
        return out

    def commit(self, items: Sequence[T], *, key: Callable[[T], str], present: Callable[[], set[str]],
               operations: Callable[[T], Iterable[Any]], message: str) -> list[T]:
        """One commit of every item's operations on top of the revision listed; after a lost race (409/412)
        or a rate limit (429) the repository is listed again (``present``: the keys there now) and only the
        items still missing are committed. Returns the items this call committed."""
        if not self.token:
            raise PublishError("publishing to a Hugging Face dataset needs a token in HF_TOKEN")
        pending = list(items)
        for attempt in range(self.retry.attempts):
            if attempt:  # after a lost race: what is there now, and at which revision
                there = present()
                pending = [item for item in pending if key(item) not in there]
                if not pending:
                    break
            added = [operation for item in pending for operation in operations(item)]
            options = {"parent_commit": self.listed_at} if self.listed_at else {}
            try:
                self.api.create_commit(self.location.repo_id, added, commit_message=message,
                                       repo_type=REPO_TYPE, **options)
                break
            except Exception as exc:
                status = http_status(exc)
                wait = self.retry.delay(attempt, retry_after_s(exc))
                last = attempt == self.retry.attempts - 1
                if status not in RETRY_STATUS or last or wait > self.retry.max_wait_s:
                    raise
                self.retries.append(status)
                self.sleep(wait)
        return pending

    def upload(self, shards: Sequence[LocalShard], message: str) -> set[str]:
        """One commit adding every file of every shard still missing; retried when it loses a race.

        Returns the ids of shards another writer committed meanwhile (not committed by this call).
        """

        def files(shard: LocalShard) -> list[Any]:
            return [_hub().CommitOperationAdd(path_in_repo=self.location.repo_path(shard.run_id, path.name),
                                              path_or_fileobj=str(path)) for path in shard.files]

        committed = self.commit(shards, key=lambda shard: shard.run_id, present=self.complete_run_ids,
                                operations=files, message=message)
        return {s.run_id for s in shards} - {s.run_id for s in committed}
