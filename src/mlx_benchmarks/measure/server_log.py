"""Server-side timings read from a server's own log, to cross-check what the client measured.

mlx_lm.server puts no speed figures in its responses, but at ``--log-level DEBUG`` it logs every request
body, its prompt-processing progress (``Prompt processing progress: 511/512``, counting only the tokens its
prompt cache did not hold) and one record per generated token, each stamped by the server's clock to the
millisecond (``2026-11-27 13:41:59,563 - DEBUG -  was``). From those records this module rebuilds, per
request: when the server received it, how many prompt tokens it prefilled, and when each token was
generated; hence the server's own TTFT, prompt tok/s and decode tok/s under the client's definitions
(``measure.timing``).

Records of one request are told apart by the ``Incoming Request Body`` record that opens each request, so
only requests that did not overlap (one in flight at a time, as in a throughput cell) can be attributed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mlx_benchmarks.errors import UsageError

FORMAT_MLX_LM = "mlx_lm.server"
_RECORD = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - ?(.*)$")
_PROGRESS = re.compile(r"^Prompt processing progress: (\d+)/(\d+)")
_REQUEST_OPEN = "Incoming Request Body:"
_STREAM_OPEN = ("Starting stream:", "Starting completion:")
_NOT_TOKENS = ("Outgoing Response:",)  # DEBUG records after the stream opens that are not generated tokens


@dataclass
class ServerRequest:
    """One request as the server logged it; times are seconds on the server's (wall) clock."""

    received_s: float
    prompt_tokens_processed: int | None = None  # prefilled by the server; a prompt-cache hit is not counted
    token_times_s: list[float] = field(default_factory=list)
    generating: bool = False  # its "Starting stream:" / "Starting completion:" record was seen

    @property
    def output_tokens(self) -> int:
        return len(self.token_times_s)

    @property
    def ttft_ms(self) -> float | None:
        return (self.token_times_s[0] - self.received_s) * 1e3 if self.token_times_s else None

    @property
    def decode_tps(self) -> float | None:
        """(tokens - 1) / (last token - first token), as the client defines it; None under 2 tokens or 1 ms."""
        if len(self.token_times_s) < 2:
            return None
        window = self.token_times_s[-1] - self.token_times_s[0]
        return (len(self.token_times_s) - 1) / window if window > 0 else None

    @property
    def prompt_tps(self) -> float | None:
        ttft = self.ttft_ms
        if self.prompt_tokens_processed is None or ttft is None or ttft <= 0:
            return None
        return self.prompt_tokens_processed / (ttft / 1e3)


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def parse_mlx_lm_log(text: str) -> list[ServerRequest]:
    """Every request in an mlx_lm.server DEBUG log, in order. Lines that are not records (the HTTP access
    log, a token's own newlines) belong to the record before them and are ignored."""
    requests: list[ServerRequest] = []
    current: ServerRequest | None = None
    for line in text.splitlines():
        match = _RECORD.match(line)
        if match is None:
            continue
        stamp, level, message = match.groups()
        if level == "DEBUG" and message.startswith(_REQUEST_OPEN):
            current = ServerRequest(received_s=_stamp(stamp))
            requests.append(current)
        elif current is None:
            continue
        elif level == "INFO" and (progress := _PROGRESS.match(message)):
            current.prompt_tokens_processed = int(progress.group(2))
        elif level == "DEBUG" and message.startswith(_STREAM_OPEN):
            current.generating = True
        elif level == "DEBUG" and current.generating and not message.startswith(_NOT_TOKENS):
            current.token_times_s.append(_stamp(stamp))
    return requests


class ServerLog:
    """A growing log file read in pieces: ``mark()`` before some requests, ``requests_since(mark)`` after."""

    format = FORMAT_MLX_LM  # the only format read so far; the tag names it

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise UsageError(f"--server-log: {path} is not a readable file")
        self.path = path

    def mark(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def requests_since(self, offset: int) -> list[ServerRequest]:
        try:
            with self.path.open("rb") as handle:
                if handle.seek(0, 2) < offset:  # truncated or rotated since the mark: read it all
                    offset = 0
                handle.seek(offset)
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        return parse_mlx_lm_log(text)
