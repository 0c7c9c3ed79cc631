"""Lake URLs and secret scrubbing, shared by publishing and reading.

Two kinds of lake, both holding the store's layout (``runs/<shard-id>/...``) under a root:

- ``s3://bucket[/prefix]``: any S3-compatible bucket (endpoint from ``MLX_BENCH_S3_ENDPOINT`` or
  ``AWS_ENDPOINT_URL``; credentials from the usual AWS environment).
- ``hf://datasets/ORG/NAME[/prefix]``: a Hugging Face dataset repository (token from ``HF_TOKEN``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mlx_benchmarks.errors import UsageError

Kind = Literal["s3", "hf"]
SECRET_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")
# tokens that may reach a message without coming from our environment (a token file, a header echo)
SECRET_PATTERNS = (
    re.compile(r"hf_[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)(bearer\s+)[^\s'\",;]+"),
    re.compile(r"(?i)(signature=|x-amz-signature=|x-amz-security-token=)[^&\s'\"]+"),
)
REDACTED = "***"
MAX_MESSAGE = 400


@dataclass(frozen=True)
class LakeLocation:
    """A parsed lake URL. ``fs_root`` is the root as the fsspec filesystem spells it (no scheme)."""

    url: str
    kind: Kind
    fs_root: str
    repo_id: str = ""  # hf only: ORG/NAME
    prefix: str = ""  # hf only: folder inside the repository, '' for its root

    def run_path(self, run_id: str, name: str = "") -> str:
        """fsspec path of a shard (or one of its files)."""
        return "/".join(p for p in (self.fs_root, "runs", run_id, name) if p)

    def repo_path(self, run_id: str, name: str) -> str:
        """Path of a shard file inside the hf repository."""
        return "/".join(p for p in (self.prefix, "runs", run_id, name) if p)


def parse_location(url: str) -> LakeLocation:
    """Parse ``s3://bucket/prefix`` or ``hf://datasets/ORG/NAME/prefix``; UsageError for anything else."""
    text = url.strip().rstrip("/")
    if text.startswith("s3://"):
        path = text[len("s3://") :].strip("/")
        if not path or path.startswith("/"):
            raise UsageError(f"{url!r} names no bucket; write s3://bucket/prefix")
        return LakeLocation(url=text, kind="s3", fs_root=path)
    if text.startswith("hf://"):
        parts = [p for p in text[len("hf://") :].split("/") if p]
        if len(parts) < 3 or parts[0] != "datasets":
            raise UsageError(f"{url!r} is not a dataset repository; write hf://datasets/ORG/NAME")
        repo_id = f"{parts[1]}/{parts[2]}"
        prefix = "/".join(parts[3:])
        return LakeLocation(url=text, kind="hf", fs_root="/".join(parts), repo_id=repo_id, prefix=prefix)
    raise UsageError(f"unsupported lake {url!r}; use s3://bucket/prefix or hf://datasets/ORG/NAME")


def secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """Credential values from the environment that must never be printed."""
    env = os.environ if env is None else env
    # very short values would redact ordinary words; real credentials are long
    return sorted({env[k] for k in SECRET_ENV if len(env.get(k, "")) >= 6}, key=len, reverse=True)


def scrub(text: str, extra: tuple[str, ...] = (), env: Mapping[str, str] | None = None) -> str:
    """``text`` on one line with every known credential replaced by ``***``."""
    for secret in (*extra, *secrets(env)):
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def describe(exc: BaseException) -> str:
    """``Type: message`` for an exception from a library, scrubbed."""
    message = str(exc) or repr(exc)
    return scrub(f"{type(exc).__name__}: {message}")
