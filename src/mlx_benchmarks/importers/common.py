"""What every importer needs: the target suite, model override, and the local context."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

from mlx_benchmarks.envelope import Envelope, Trigger, tag_value
from mlx_benchmarks.errors import UsageError


@dataclass(frozen=True)
class ImportContext:
    """Flags of ``mlx-bench import`` plus the detected local context."""

    source: str  # file name, recorded in tags
    suite: str
    model: str | None
    git_sha: str
    system: dict[str, Any]
    trigger: Trigger = "local"
    pr_number: int | None = None
    extra_tags: dict[str, str] = field(default_factory=dict)

    def envelope(self, model: str, timestamp: str) -> Envelope:
        return Envelope(
            suite=self.suite,
            model=self.model or model,
            system=dict(self.system),
            git_sha=self.git_sha,
            timestamp=timestamp,
            trigger=self.trigger,
            pr_number=self.pr_number if self.trigger == "pr" else None,
        )


def shape_error(kind: str, source: str, why: str) -> UsageError:
    return UsageError(f"{source}: not a {kind} results file ({why})")


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def iso_from_epoch(value: Any) -> str | None:
    if is_number(value):
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def tags_of(mapping: dict[str, Any]) -> dict[str, str]:
    """Scalar entries of a mapping as string tags (nested values are skipped)."""
    return {k: tag_value(v) for k, v in mapping.items() if isinstance(v, (str, int, float, bool))}
