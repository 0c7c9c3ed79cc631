"""When a run stops early, and how failed requests are counted: one policy for every suite.

- ``--max-consecutive-failures N``: after N failed requests in a row the target is taken for dead and the run
  stops: ``RunIncomplete`` (exit 6), nothing stored, the journal kept for ``--resume``. The default is 8, or
  twice the requests in flight, whichever is more, so one burst of a busy server's refusals is not a death.
- Counts: a *measured* request is one whose figures could enter a result; warm-up requests (a cell's
  ``--warmup``, a level's ``--level-warmup`` / ``--level-cooldown``) are counted apart. Every count a speed
  run writes (errors[], the partial-run note, the tags ``measured_requests`` / ``failed_requests`` /
  ``error_rate``) comes from ``RequestCounts``.
- ``--max-error-rate P`` (percent, default 5): a speed result whose measured requests failed more often is
  tagged ``valid=false`` (with ``invalid_reason``); compare, trend and the leaderboard leave it out unless
  asked (``compare.validity``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlx_benchmarks.errors import RunIncomplete, UsageError
from mlx_benchmarks.measure.timing import Completion

MIN_CONSECUTIVE_FAILURES = 8
MAX_CONSECUTIVE_FAILURES = 100_000
DEFAULT_MAX_ERROR_RATE_PCT = 5.0


def consecutive_limit(value: object, concurrency: int = 1) -> int:
    """``--max-consecutive-failures`` as given, else max(8, 2 x the requests in flight)."""
    if value is None:
        return max(MIN_CONSECUTIVE_FAILURES, 2 * max(1, concurrency))
    try:
        number = int(str(value))
    except ValueError:
        raise UsageError(f"--max-consecutive-failures: {value!r} is not a whole number") from None
    if not 1 <= number <= MAX_CONSECUTIVE_FAILURES:
        raise UsageError(f"--max-consecutive-failures: {number} is out of range (1..{MAX_CONSECUTIVE_FAILURES})")
    return number


def max_error_rate(value: object) -> float:
    """``--max-error-rate P`` as a fraction (P in percent, 0..100; default 5)."""
    if value is None:
        return DEFAULT_MAX_ERROR_RATE_PCT / 100
    try:
        number = float(str(value).rstrip("%"))
    except ValueError:
        raise UsageError(f"--max-error-rate: {value!r} is not a number of percent (e.g. 5)") from None
    if not 0.0 <= number <= 100.0:
        raise UsageError(f"--max-error-rate: {number:g} is out of range (0..100 percent)")
    return number / 100


class FailureWatch:
    """Counts failed requests in a row across a run; ``record`` raises RunIncomplete once there are too many.

    Every request after the stop also raises, so each worker of a load level stops at its next request.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0
        self.sent = 0
        self.failed = 0
        self.stopped: str | None = None

    @classmethod
    def of(cls, options: Mapping[str, Any], concurrency: int = 1) -> FailureWatch:
        return cls(consecutive_limit(options.get("max_consecutive_failures"), concurrency))

    def record(self, error: str | None) -> None:
        if self.stopped is not None:
            raise RunIncomplete(self.stopped)
        self.sent += 1
        if error is None:
            self.in_a_row = 0
            return
        self.failed += 1
        self.in_a_row += 1
        if self.in_a_row >= self.limit:
            self.stopped = (f"stopped after {self.in_a_row} consecutive failed requests: {error[:300]}; "
                            f"{self.sent} requests sent, {self.failed} failed; the rest never sent")
            raise RunIncomplete(self.stopped)

    def completion(self, completion: Completion) -> None:
        """``record`` for a finished request (the speed suites' progress hook)."""
        self.record(completion.error)


@dataclass(frozen=True)
class RequestCounts:
    """Measured and warm-up requests of one result (or of a whole run), and how many of each failed."""

    measured: int
    failed: int
    warmup: int = 0
    warmup_failed: int = 0

    @classmethod
    def of(cls, measured: Iterable[Completion], warmup: Iterable[Completion] = ()) -> RequestCounts:
        kept, warm = list(measured), list(warmup)
        return cls(len(kept), sum(1 for c in kept if c.error), len(warm), sum(1 for c in warm if c.error))

    @classmethod
    def of_samples(cls, samples: Iterable[Mapping[str, Any]]) -> RequestCounts:
        """From sample records: a record with ``excluded`` true is a warm-up / cool-down request."""
        rows = list(samples)
        kept = [s for s in rows if not s.get("excluded")]
        warm = [s for s in rows if s.get("excluded")]
        return cls(len(kept), sum(1 for s in kept if s.get("error")), len(warm),
                   sum(1 for s in warm if s.get("error")))

    @property
    def error_rate(self) -> float:
        return self.failed / self.measured if self.measured else 0.0

    def tags(self, limit: float) -> dict[str, object]:
        """``measured_requests``, ``failed_requests``, ``error_rate`` (0..1), warm-up counts and ``valid``."""
        tags: dict[str, object] = {"measured_requests": self.measured, "failed_requests": self.failed,
                                   "error_rate": round(self.error_rate, 4), "warmup_requests": self.warmup,
                                   "warmup_failed": self.warmup_failed, "max_error_rate": round(limit, 4),
                                   "valid": self.error_rate <= limit}
        if self.error_rate > limit:
            tags["invalid_reason"] = (f"{self.failed} of {self.measured} measured requests failed "
                                      f"({self.error_rate:.1%} > --max-error-rate {limit:.1%})")
        return tags


def count_lines(measured: Sequence[Completion], warmup: Sequence[Completion] = ()) -> list[str]:
    """``"3 of 12 measured requests failed: HTTP 500: boom"`` per distinct reason, most frequent first; then
    the warm-up's own lines (``"warm-up: 1 of 3 requests failed: …"``)."""
    lines = [f"{n} of {len(measured)} measured requests failed: {reason}"
             for reason, n in Counter(c.error for c in measured if c.error).most_common()]
    lines += [f"warm-up: {n} of {len(warmup)} requests failed: {reason}"
              for reason, n in Counter(c.error for c in warmup if c.error).most_common()]
    return lines


def no_result_line(label: str, completions: Sequence[Completion]) -> str:
    """Why a cell or level has no result: every measured request failed (with the first reason)."""
    reasons = [c.error for c in completions if c.error]
    why = f" ({reasons[0][:300]})" if reasons else ""
    return f"{label}: no result: {len(reasons)} of {len(completions)} requests failed{why}"


def level_counts(sent: Sequence[Completion], kept: Sequence[Completion]) -> RequestCounts:
    """A load level's counts: requests inside its warm-up / cool-down window are measured, the rest warm-up."""
    inside = {id(c) for c in kept}
    return RequestCounts.of(kept, [c for c in sent if id(c) not in inside])
