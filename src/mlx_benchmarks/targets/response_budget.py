"""A run-wide budget for the bytes of answers being streamed: one answer's cap and a total over those in flight.

Every HTTP request of a target draws on one ``ResponseBudget`` as its stream's bytes arrive and gives them
back when the stream ends. An answer over ``--max-response-mb`` fails; so does an answer whose next read would
take the answers in flight over ``--max-buffered-mb``. Failing (not waiting) is deliberate: a stream cannot
be paused without the server's tokens piling up in the socket and the timings with them, and answers waiting
on each other's bytes could all wait forever. The failure is the request's, recorded as data like any other
(``errors[]``, the sample's ``error``), and names the flag to raise.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlx_benchmarks.errors import TargetProtocolError, UsageError

MIB = 1 << 20
DEFAULT_RESPONSE_MB = 64.0  # one answer's whole stream; far above a 100k-token reasoning trace
DEFAULT_BUFFERED_MB = 512.0  # every answer in flight together: eight answers at the one-answer cap
MAX_MB = 1 << 20  # a terabyte: beyond any machine this runs on


def parse_mb(value: object, flag: str) -> float:
    """A positive number of MiB for ``flag``; UsageError otherwise."""
    try:
        number = float(str(value))
    except ValueError:
        raise UsageError(f"{flag}: {value!r} is not a number of MiB") from None
    if not 0 < number <= MAX_MB:
        raise UsageError(f"{flag}: {number:g} is out of range (above 0, at most {MAX_MB} MiB)")
    return number


@dataclass
class ResponseBudget:
    """Bytes of answers in flight, against one answer's cap and the total (both in bytes)."""

    per_answer: int = int(DEFAULT_RESPONSE_MB * MIB)
    total: int = int(DEFAULT_BUFFERED_MB * MIB)
    in_use: int = 0
    peak: int = 0
    refused: int = 0  # answers stopped because the total would have been exceeded

    @classmethod
    def of_mb(cls, per_answer_mb: float | None, total_mb: float | None) -> ResponseBudget:
        per_answer = int((per_answer_mb or DEFAULT_RESPONSE_MB) * MIB)
        total = int((total_mb or DEFAULT_BUFFERED_MB) * MIB)
        return cls(per_answer=per_answer, total=max(total, 1))

    def take(self, n: int, held: int, where: str) -> None:
        """Add ``n`` bytes to an answer already holding ``held``; TargetProtocolError past either limit.

        The caller gives back what it holds (``give_back``) when its stream ends, whatever the ending."""
        if held + n > self.per_answer:
            raise TargetProtocolError(f"{where} streamed more than {_mb(self.per_answer)} MiB for one answer "
                                      "(--max-response-mb)")
        if self.in_use + n > self.total:
            self.refused += 1
            raise TargetProtocolError(f"{where}: answers in flight would hold more than {_mb(self.total)} MiB "
                                      f"(--max-buffered-mb; this one had {_mb(held + n)} MiB, all of them "
                                      f"{_mb(self.in_use + n)} MiB); the answer was stopped")
        self.in_use += n
        self.peak = max(self.peak, self.in_use)

    def give_back(self, n: int) -> None:
        self.in_use = max(0, self.in_use - n)


def _mb(n: int) -> str:
    return f"{n / MIB:.4g}"
