"""Flags of the open-loop ``--request-rate`` sweep (as ``vllm bench serve --request-rate``)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.rate_load import ARRIVALS
from mlx_benchmarks.suites.speed_common import parse_int


def add_rate_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("open-loop load (as vllm bench serve --request-rate)")
    group.add_argument("--request-rate", default=None, metavar="R,R,...",
                       help="also offer these request rates (requests/s), arrivals on a seeded schedule")
    group.add_argument("--arrival", default=None, choices=ARRIVALS,
                       help="gaps between arrivals: poisson (the default for --request-rate), constant (the "
                            "default for --sweep) or gamma (shape --burstiness)")
    group.add_argument("--burstiness", default=1.0, help="gamma shape: below 1 burstier, above 1 steadier")
    group.add_argument("--rate-requests", default=None, metavar="N",
                       help="requests per round at each rate (default: 10 seconds' worth, 8 to 200)")
    group.add_argument("--max-concurrency", default=None, metavar="N",
                       help="cap on requests in flight under --request-rate (default: none)")


@dataclass(frozen=True)
class RateOptions:
    """The validated open-loop flags."""

    rates: list[float]
    arrival: str
    sweep_arrival: str  # constant unless --arrival says otherwise: a few draws of a slow rate are too uneven
    burstiness: float
    requests: int | None
    max_concurrency: int | None

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> RateOptions:
        raw = options.get("request_rate")
        rates = [_positive(item, "--request-rate") for item in str(raw).split(",")] if raw else []
        arrival = str(options.get("arrival") or "poisson")
        if arrival not in ARRIVALS:
            raise UsageError(f"--arrival: {arrival!r} is not one of {', '.join(ARRIVALS)}")
        requests, cap = options.get("rate_requests"), options.get("max_concurrency")
        burstiness = _positive(options.get("burstiness") or 1.0, "--burstiness")
        if burstiness != 1.0 and arrival != "gamma":
            raise UsageError(f"--burstiness applies to --arrival gamma (a {arrival} schedule has no shape)")
        if not rates and not options.get("sweep"):
            given = [flag for flag, set_ in (("--rate-requests", requests is not None),
                                             ("--max-concurrency", cap is not None),
                                             ("--arrival", arrival != "poisson"), ("--burstiness", burstiness != 1.0))
                     if set_]
            if given:
                raise UsageError(f"{given[0]} needs --request-rate or --sweep (it shapes the open-loop load only)")
        return cls(rates=rates, arrival=arrival, burstiness=burstiness,
                   sweep_arrival=str(options.get("arrival") or "constant"),
                   requests=None if requests is None else parse_int(requests, "--rate-requests", minimum=1,
                                                                      maximum=100000),
                   max_concurrency=None if cap is None else parse_int(cap, "--max-concurrency", minimum=1,
                                                                      maximum=100000))

    def requests_at(self, rate: float) -> int:
        return self.requests or max(8, min(200, round(rate * 10)))


def _positive(value: object, flag: str) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise UsageError(f"{flag}: {str(value).strip()!r} is not a number") from None
    if not number > 0 or number == float("inf"):
        raise UsageError(f"{flag}: {number:g} must be a positive, finite number")
    return number
