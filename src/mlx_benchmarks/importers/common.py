"""What every importer needs: the target suite, model override, and the local context."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

from mlx_benchmarks.envelope import MAX_DEPTH, Envelope, Trigger, tag_value
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
    """An epoch time as RFC 3339; None for anything that is not a representable time."""
    if not is_number(value):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):  # years past 9999, before year 1
        return None


def tags_of(mapping: dict[str, Any]) -> dict[str, str]:
    """Scalar entries of a mapping as string tags (nested values are skipped)."""
    return {k: tag_value(v) for k, v in mapping.items() if isinstance(v, (str, int, float, bool))}


NONFINITE_TEXT = ("nan", "inf", "infinity")


def is_nonfinite(value: Any) -> bool:
    """NaN or ±Infinity, as a float or as text (llama-bench writes ``"avg_ts": "nan"``)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and value.strip().lower().lstrip("+-") in NONFINITE_TEXT


def finite_float(value: Any) -> float | None:
    """A finite number, or numeric text, as a float; None for NaN, ±Infinity and anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def dropped(where: str, value: Any) -> str:
    """The ``errors[]`` line for a field left out because it is not a finite number (NaN, ±Infinity, text, an
    object, a list, null): no importer skips a field without saying so."""
    if is_nonfinite(value) or isinstance(value, (int, float, str)):
        return f"{where}: {str(value)[:40]!r} is not a finite number; dropped"
    kind = "null" if value is None else type(value).__name__
    return f"{where}: {kind} {str(value)[:40]!r} is not a finite number; dropped"


def scrub_nonfinite(value: Any, errors: list[str], where: str) -> Any:
    """``value`` with every NaN / ±Infinity float replaced by None, and one ``errors[]`` line saying how many.

    Nesting past the envelope's depth limit is left as it is: validation then refuses the file.
    """
    count = 0

    def clean(item: Any, depth: int) -> Any:
        nonlocal count
        if depth > MAX_DEPTH:
            return item
        if isinstance(item, float) and not math.isfinite(item):
            count += 1
            return None
        if isinstance(item, dict):
            return {k: clean(v, depth + 1) for k, v in item.items()}
        if isinstance(item, list):
            return [clean(v, depth + 1) for v in item]
        return item

    out = clean(value, 0)
    if count:
        errors.append(f"{where}: {count} non-finite numbers (NaN, Infinity) replaced by null")
    return out
