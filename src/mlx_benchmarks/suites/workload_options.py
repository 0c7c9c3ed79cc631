"""Flags of the throughput suite's real workloads: datasets, prefix caching, turns, SLOs, percentiles,
warm-up and cool-down of load levels, and the sweep. All are checked in ``validate_options``, before any work.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.suites.speed_common import MAX_PROMPT_TOKENS, parse_int

SLO_KEYS = {"ttft_ms": "time to first token", "tpot_ms": "time per output token after the first",
            "itl_ms": "every gap between tokens", "e2e_ms": "whole request"}
DEFAULT_PERCENTILES = (50.0, 90.0, 99.0)


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workload (prompts, prefix cache, turns)")
    group.add_argument("--dataset", default="random", metavar="random|sample|FILE",
                       help="prompts: salted filler of --prompt-lengths (random, default), the packaged chat "
                            "sample, or a JSONL / ShareGPT JSON file")
    group.add_argument("--dataset-limit", default=None, metavar="N", help="send at most N dataset prompts")
    group.add_argument("--min-prompt-tokens", default=None, metavar="N", help="skip shorter dataset prompts")
    group.add_argument("--max-prompt-tokens", default=None, metavar="N", help="skip longer dataset prompts")
    # --gen-tokens left unset reads as its default (speed_common); set, with a dataset it caps each prompt's
    # own output length (GuideLLM's and vLLM's output-length override), so it must be told apart from unset
    parser.set_defaults(gen_tokens=None)
    group.add_argument("--shared-prefix", default=None, metavar="N",
                       help="also time prompts that share an N-token system prompt, beside unshared ones")
    group.add_argument("--turns", default=None, metavar="K", help="also time K-turn conversations (TTFT per turn)")
    group = parser.add_argument_group("latency figures and service levels")
    group.add_argument("--percentiles", default=None, metavar="Q,Q,...",
                       help="latency percentiles to report (default 50,90,99; e.g. 50,90,95,99,99.9)")
    group.add_argument("--slo", default=None, metavar="KEY=MS,...",
                       help="service levels (ttft_ms, tpot_ms, itl_ms, e2e_ms): share of requests meeting all "
                            "and goodput per load level")
    group.add_argument("--level-warmup", default=None, metavar="N|Ns",
                       help="leave the first N requests (or N seconds) of each load level out of its figures")
    group.add_argument("--level-cooldown", default=None, metavar="N|Ns",
                       help="leave the last N requests (or N seconds) of each load level out of its figures")
    group.add_argument("--sweep", action="store_true",
                       help="find the saturation point: one at a time, the maximum, then rates in between")
    group.add_argument("--sweep-rates", default=None, metavar="N", help="rates between the two (default 8)")


@dataclass(frozen=True)
class Trim:
    """Requests (or seconds) left out at one end of a load level."""

    amount: float = 0.0
    unit: str = "requests"  # or "seconds"

    def __bool__(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit}" if self else "none"


@dataclass(frozen=True)
class WorkloadOptions:
    """The validated workload flags."""

    dataset: str = "random"
    dataset_limit: int | None = None
    output_cap: int | None = None  # --gen-tokens with a dataset: max_tokens = min(the prompt's own length, cap)
    min_prompt_tokens: int = 1
    max_prompt_tokens: int | None = None
    shared_prefix: int | None = None
    turns: int | None = None
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
    slo: dict[str, float] = field(default_factory=dict)
    level_warmup: Trim = Trim()
    level_cooldown: Trim = Trim()
    sweep: bool = False
    sweep_rates: int = 8

    @property
    def random(self) -> bool:
        return self.dataset == "random"

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> WorkloadOptions:
        def given(name: str) -> Any:
            return options.get(name)

        dataset = str(given("dataset") or "random").strip()
        if not dataset:
            raise UsageError("--dataset: give random, sample or a file")
        limit, low, high = given("dataset_limit"), given("min_prompt_tokens"), given("max_prompt_tokens")
        if dataset == "random":
            flag = next((f for f, v in (("--dataset-limit", limit), ("--min-prompt-tokens", low),
                                        ("--max-prompt-tokens", high)) if v is not None), None)
            if flag:
                raise UsageError(f"{flag} needs --dataset sample or a file (random prompts follow --prompt-lengths)")
        low_n = parse_int(low, "--min-prompt-tokens", minimum=1, maximum=MAX_PROMPT_TOKENS) if low is not None else 1
        high_n = parse_int(high, "--max-prompt-tokens", minimum=1, maximum=MAX_PROMPT_TOKENS) \
            if high is not None else None
        if high_n is not None and high_n < low_n:
            raise UsageError(f"--max-prompt-tokens: {high_n} is below --min-prompt-tokens {low_n}")
        cap = given("gen_tokens")
        if cap is not None and dataset != "random":
            cap = ",".join(map(str, cap)) if isinstance(cap, (list, tuple)) else str(cap).strip()
            if "," in cap:
                raise UsageError(f"--gen-tokens {cap}: with --dataset it takes one number, the cap on each prompt's "
                                 "own output length")
        sweep_rates = given("sweep_rates")
        if sweep_rates is not None and not given("sweep"):
            raise UsageError("--sweep-rates needs --sweep")
        return cls(
            dataset=dataset,
            dataset_limit=parse_int(limit, "--dataset-limit", minimum=1, maximum=1_000_000) if limit is not None
            else None,
            output_cap=parse_int(cap, "--gen-tokens", minimum=1, maximum=1_000_000)
            if cap is not None and dataset != "random" else None,
            min_prompt_tokens=low_n, max_prompt_tokens=high_n,
            shared_prefix=_optional_int(given("shared_prefix"), "--shared-prefix", MAX_PROMPT_TOKENS),
            turns=_optional_int(given("turns"), "--turns", 64),
            percentiles=parse_percentiles(given("percentiles")),
            slo=parse_slo(given("slo")),
            level_warmup=parse_trim(given("level_warmup"), "--level-warmup"),
            level_cooldown=parse_trim(given("level_cooldown"), "--level-cooldown"),
            sweep=bool(given("sweep")),
            sweep_rates=parse_int(sweep_rates, "--sweep-rates", minimum=1, maximum=64) if sweep_rates is not None
            else 8,
        )


def _optional_int(value: object, flag: str, maximum: int) -> int | None:
    return None if value is None else parse_int(value, flag, minimum=1, maximum=maximum)


def _number(text: str, flag: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not a number") from None
    if not math.isfinite(number):
        raise UsageError(f"{flag}: {text} must be finite")
    return number


def parse_percentiles(value: object) -> tuple[float, ...]:
    """``"50,90,99.9"`` -> (50.0, 90.0, 99.9): sorted, distinct, each within 0..100."""
    if value is None:
        return DEFAULT_PERCENTILES
    items = [item.strip() for item in str(value).split(",") if item.strip()]
    if not items:
        raise UsageError("--percentiles: give at least one value, e.g. --percentiles 50,90,99")
    out = set()
    for item in items:
        q = _number(item, "--percentiles")
        if not 0 < q < 100:
            raise UsageError(f"--percentiles: {item} is not between 0 and 100 (exclusive)")
        out.add(q)
    return tuple(sorted(out))


def parse_slo(value: object) -> dict[str, float]:
    """``"ttft_ms=500,tpot_ms=50"`` -> {"ttft_ms": 500.0, "tpot_ms": 50.0}."""
    if value is None:
        return {}
    out: dict[str, float] = {}
    for item in (i.strip() for i in str(value).split(",")):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in SLO_KEYS:
            raise UsageError(f"--slo: {item!r} is not KEY=MS with KEY one of {', '.join(SLO_KEYS)}")
        limit = _number(raw.strip(), f"--slo {key}")
        if limit <= 0:
            raise UsageError(f"--slo {key}: {raw.strip()} must be a positive number of milliseconds")
        out[key] = limit
    return out


def parse_trim(value: object, flag: str) -> Trim:
    """``"5"`` -> 5 requests, ``"2s"`` -> 2 seconds; None -> none."""
    if value is None:
        return Trim()
    text = str(value).strip().lower()
    if text.endswith("s"):
        seconds = _number(text[:-1], flag)
        if seconds < 0:
            raise UsageError(f"{flag}: {value} must not be negative")
        return Trim(seconds, "seconds")
    return Trim(parse_int(text, flag, minimum=0, maximum=100_000), "requests")
