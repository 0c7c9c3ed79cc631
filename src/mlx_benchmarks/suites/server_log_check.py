"""Cross-check a speed cell against the server's own log (``--server-log FILE``, or a ``--serve mlx`` server).

A cell sends its requests one at a time, so the log's requests since the cell began pair one for one with
the cell's requests. The tags give the server's figures next to ours and the difference in percent; a log
without per-token records (mlx_lm.server below ``--log-level DEBUG``) or with a different number of requests
is said so in the ``server_log`` tag rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlx_benchmarks.measure.server_log import ServerLog, ServerRequest
from mlx_benchmarks.measure.stats import median
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.base import RunContext

AGREEMENT_PCT = 10.0  # the tolerance the cross-check reports against


def server_log_for(ctx: RunContext) -> ServerLog | None:
    """The log named by ``--server-log``, else the one a managed server writes, else None."""
    path = ctx.options.get("server_log")
    if path:
        return ServerLog(Path(str(path)).expanduser())
    log = getattr(ctx.target, "server_log", None)
    return log if isinstance(log, ServerLog) else None


@dataclass
class CellLog:
    """A log position taken when a cell starts; ``tags`` reads what the server logged since."""

    log: ServerLog
    offset: int

    @classmethod
    def start(cls, ctx: RunContext) -> CellLog | None:
        log = server_log_for(ctx)
        return cls(log, log.mark()) if log is not None else None

    def tags(self, completions: list[Completion], measured: list[int], our_decode_tps: float | None,
             ) -> dict[str, object]:
        """``measured``: indexes into ``completions`` of the timed trials (warm-ups excluded)."""
        logged = [r for r in self.log.requests_since(self.offset) if r.generating]
        if len(logged) != len(completions):
            return {"server_log": f"unmatched: {len(logged)} requests logged for {len(completions)} sent"}
        if not any(r.token_times_s for r in logged):
            return {"server_log": "no per-token records (start mlx_lm.server with --log-level DEBUG)"}
        pairs = [(i, completions[i], logged[i]) for i in measured if completions[i].ok]
        mismatched = [i for i, completion, request in pairs if not _same_count(completion, request)]
        if mismatched:
            return {"server_log": f"unmatched: token counts differ from usage at request {mismatched[0]}"}
        requests = [request for _, _, request in pairs]
        server_decode = _median(requests, "decode_tps")
        tags: dict[str, object] = {
            "server_log": self.log.format,
            "server_log_requests": len(requests),
            "server_log_decode_tok_per_sec": _round(server_decode, 3),
            "server_log_ttft_ms": _round(_median(requests, "ttft_ms"), 3),
            "server_log_prompt_tok_per_sec": _round(_median(requests, "prompt_tps"), 3),
        }
        if server_decode and our_decode_tps is not None:
            diff = (our_decode_tps - server_decode) / server_decode * 100
            tags["server_log_decode_diff_pct"] = round(diff, 2)
            tags[f"server_log_within_{AGREEMENT_PCT:g}pct"] = abs(diff) <= AGREEMENT_PCT
        return tags


def _same_count(completion: Completion, request: ServerRequest) -> bool:
    usage = completion.usage
    reported = usage.completion_tokens if usage is not None else None
    return reported is None or reported == request.output_tokens


def _median(requests: list[ServerRequest], attribute: str) -> float | None:
    return median([float(v) for r in requests if (v := getattr(r, attribute)) is not None])


def _round(value: float | None, digits: int) -> object:
    return round(value, digits) if value is not None else "not logged"
