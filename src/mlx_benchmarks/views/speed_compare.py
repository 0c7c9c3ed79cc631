"""Two runs' speed side by side as llama.cpp's ``compare-llama-bench.py`` prints it: one row per test (pp512,
tg128, and here TTFT), A's figure, B's, and the speed-up.

Each throughput cell (``tok_per_sec_<prompt>[_g<gen>]``) carries the prompt tok/s, the decode tok/s (its value)
and the TTFT of the same requests, so a cell gives three rows; an imported llama-bench test (``pp512``,
``tg128``) gives its own. The speed-up is B / A for a rate and A / B for a latency: above 1 is faster either
way. Cells pair by name; the configuration check stays ``compare``'s (rows it could not pair are named there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mlx_benchmarks.views.run_summary import Section, num

JSON = dict[str, Any]
_CELL = re.compile(r"^tok_per_sec_(?P<prompt>\d+)(?:_g(?P<gen>\d+))?$")
_LLAMA_BENCH = re.compile(r"^(?:pp|tg)\d+(?:@d\d+)?$")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def _tests(results: Sequence[JSON]) -> dict[str, tuple[float, bool]]:
    """test name -> (figure, lower is better) for every speed figure a llama-bench user reads."""
    out: dict[str, tuple[float, bool]] = {}
    for result in results:
        name = str(result.get("name", ""))
        if cell := _CELL.match(name):
            gen = cell["gen"] or (result.get("tags") or {}).get("gen_tokens_requested", "")
            suffix = f" (pp{cell['prompt']}+tg{gen})" if gen else f" (pp{cell['prompt']})"
            for test, value, lower in ((f"pp{cell['prompt']} t/s{suffix}", result.get("prompt_tokens_per_second"), False),
                                       (f"tg{gen} t/s{suffix}", result.get("value"), False),
                                       (f"TTFT ms{suffix}", result.get("first_token_latency_ms"), True)):
                if (figure := _number(value)) is not None:
                    out[test] = (figure, lower)
        elif _LLAMA_BENCH.match(name) and result.get("unit") == "tok/s" and (figure := _number(result.get("value"))):
            out[f"{name} t/s"] = (figure, False)
    return out


def speed_comparison(a: JSON, b: JSON) -> Section | None:
    """The speed-up table of envelopes ``a`` (baseline) and ``b``; None when they share no speed test."""
    tests_a, tests_b = _tests(a.get("results", [])), _tests(b.get("results", []))
    shared = [test for test in tests_a if test in tests_b]
    if not shared:
        return None
    rows = []
    for test in shared:
        (va, lower), (vb, _) = tests_a[test], tests_b[test]
        speedup = va / vb if lower else vb / va
        rows.append((test, num(va), num(vb), f"{speedup:.2f}"))
    return Section("Speed (as compare-llama-bench.py)", ("test", "A", "B", "speed-up"), rows,
                   frozenset({1, 2, 3}), ["speed-up: B / A for t/s, A / B for TTFT; above 1 means B is faster"],
                   drop_order=(2, 1))
