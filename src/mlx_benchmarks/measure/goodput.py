"""Service levels: which requests met every SLO, and goodput (requests per second that met them).

As ``vllm bench serve --goodput`` and AIPerf define it: a request counts when each latency it is held to is
at or under its limit (TTFT, TPOT, end to end; ``itl_ms`` holds every gap between tokens). A failed request
never counts. Goodput is the count of those requests over the same wall time as requests/s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlx_benchmarks.measure.load import LoadResult, tpot_ms
from mlx_benchmarks.measure.timing import Completion


def latencies(completion: Completion) -> dict[str, float | None]:
    """The figures an SLO can hold a request to (ms); None where the request has no such figure."""
    gaps = completion.itl_ms()
    return {"ttft_ms": completion.ttft_ms, "tpot_ms": tpot_ms(completion),
            "itl_ms": max(gaps) if gaps else None, "e2e_ms": completion.duration_s * 1e3}


def meets(completion: Completion, slo: Mapping[str, float]) -> bool:
    """True when the request succeeded and every figure it has is within its limit.

    A request with one output token has no TPOT or ITL: it is held to the other limits only (as vLLM does).
    """
    if not completion.ok or completion.first_token_ns is None:
        return False
    figures = latencies(completion)
    return all(figures[key] is None or figures[key] <= limit  # type: ignore[operator]
               for key, limit in slo.items())


def attainment(completions: Sequence[Completion], slo: Mapping[str, float]) -> float | None:
    """Share of requests (failed ones included) meeting every SLO; None without requests."""
    if not completions:
        return None
    return sum(meets(c, slo) for c in completions) / len(completions)


def goodput(result: LoadResult, slo: Mapping[str, float]) -> float:
    """Requests per second meeting every SLO, over the run's wall time."""
    return sum(meets(c, slo) for c in result.completions) / max(result.wall_s, 1e-9)


def slo_text(slo: Mapping[str, float]) -> str:
    """``"ttft_ms<=500,tpot_ms<=50"``: the SLO as a tag."""
    return ",".join(f"{key}<={limit:g}" for key, limit in slo.items())
