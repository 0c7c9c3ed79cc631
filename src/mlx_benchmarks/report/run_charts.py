"""Chart data drawn from one run's results: the throughput pp x tg grid and a rate sweep's levels.

Both the report and the dashboard use these, so a chart reads the same in either. Only stored results and
their tags are read (the names and tags written by the throughput, load-level and sweep suites).
"""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]
# rate_<R>_<rest> (``--rates``) and sweep_rate_<R>_<rest> (``--sweep``); R as Python's :g writes it
_RATE = re.compile(r"^(?P<label>(?:sweep_)?rate_(?P<rate>[0-9.]+(?:e[+-]?[0-9]+)?))_(?P<rest>.+)$")
GRID_PREFIX = "tok_per_sec_"  # tok_per_sec_<pp> or tok_per_sec_<pp>_g<tg>, as the throughput suite names cells
_LATENCY = re.compile(r"^(?P<kind>ttft|itl|tpot|e2e)_(?P<q>p[0-9.]+)_ms$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def sweep_points(results: list[JSON]) -> list[JSON]:
    """One point per offered rate: achieved req/s, keeps-up and latency percentiles; [] for other runs."""
    levels: dict[str, JSON] = {}
    for r in results:
        match = _RATE.match(str(r.get("name", "")))
        if not match:
            continue
        tags = r.get("tags") or {}
        offered = _number(tags.get("request_rate")) or _number(match["rate"])
        point = levels.setdefault(match["label"], {"label": match["label"], "offered": offered, "achieved": None,
                                                    "keeps_up": None, "latency": {}})
        rest = match["rest"]
        if rest == "requests_per_sec":
            point["achieved"] = _number(r.get("value"))
            keeps = str(tags.get("keeps_up", "")).lower()  # tags are strings: "true", "false" or "unknown"
            point["keeps_up"] = True if keeps == "true" else False if keeps == "false" else None
        elif latency := _LATENCY.match(rest):
            point["latency"][f"{latency['kind']}_{latency['q']}"] = _number(r.get("value"))
    points = [p for p in levels.values() if p["offered"] is not None]
    return sorted(points, key=lambda p: (p["offered"], p["label"]))


def throughput_cells(results: list[JSON]) -> list[JSON]:
    """The prompt-length x generated-tokens cells of a throughput run, with their per-trial figures."""
    cells = []
    for r in results:
        tags = r.get("tags") or {}
        prompt = _number(tags.get("prompt_tokens_requested"))
        gen = _number(tags.get("gen_tokens_requested"))
        # the grid's own results only: load levels (concurrency_N_*, rate_R_*, sweep_*) carry the same length tags
        if not str(r.get("name", "")).startswith(GRID_PREFIX) or prompt is None or gen is None:
            continue
        raw = r.get("raw") or {}
        cells.append({
            "name": r.get("name"), "prompt_tokens": int(prompt), "gen_tokens": int(gen),
            "decode_tps": _number(r.get("decode_tokens_per_second")) or _number(r.get("value")),
            "prompt_tps": _number(r.get("prompt_tokens_per_second")),
            "ttft_ms": _number(r.get("first_token_latency_ms")),
            "trials_decode_tps": [v for v in raw.get("trials", []) if _number(v) is not None],
            "trials_ttft_ms": [v for v in raw.get("ttft_ms", []) if _number(v) is not None],
        })
    return sorted(cells, key=lambda c: (c["gen_tokens"], c["prompt_tokens"]))
