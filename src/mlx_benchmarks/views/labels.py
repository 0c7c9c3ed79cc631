"""What a reader calls a stored result: ``decode tok/s at 64 prompt tokens`` for ``tok_per_sec_64 · throughput``.

The stored (name, metric) stays the key every view filters and links by; these labels are only what the
report, the dashboard and the terminal tables print beside or instead of it. No pattern matched: the stored
``name · metric`` (or the name alone when the two are equal), so nothing is ever hidden behind a guess.
"""

from __future__ import annotations

import re

_CELL = re.compile(r"^tok_per_sec_(?P<prompt>\d+|dataset)(?:_g(?P<gen>\d+))?$")
_TTFT = re.compile(r"^ttft_ms_(?P<prompt>\d+)_(?P<which>cold|p\d+(?:\.\d+)?)$")
_LEVEL = re.compile(r"^(?:concurrency_(?P<n>\d+)|rate_(?P<rate>[0-9.e+-]+))_(?P<what>.+)$")
_PERCENTILE = re.compile(r"^(?P<kind>ttft|itl|tpot|e2e)_(?P<p>p\d+(?:\.\d+)?)_ms$")
_SPEED_METRICS = {"throughput", "latency"}
_LEVEL_FIGURES = {"output_tok_per_sec": "output tok/s", "requests_per_sec": "req/s"}
_LATENCY = {"ttft": "TTFT", "itl": "ITL", "tpot": "TPOT", "e2e": "end-to-end latency"}
# a quality metric as lm-eval users read it
_METRICS = {"exact_match_strict": "exact match (strict)", "exact_match_flexible": "exact match (flexible)",
            "accuracy_normalized": "accuracy (length-normalized)", "success_rate": "success rate",
            "tool_error_rate": "tool error rate", "json_valid_rate": "valid JSON", "schema_valid_rate": "valid schema",
            "pass_at_1": "pass@1"}
UNIT_LABELS = {"ratio": "", "tok/s": "tok/s", "ms": "ms", "seconds": "s", "req/s": "req/s"}


def _level(match: re.Match[str]) -> str:
    return f"at {match['n']} concurrent" if match["n"] else f"at {match['rate']} req/s offered"


def result_label(name: str, metric: str) -> str:
    """A stored (name, metric) as a reader says it."""
    if metric in _SPEED_METRICS:
        if cell := _CELL.match(name):
            prompt = "dataset prompts" if cell["prompt"] == "dataset" else f"{cell['prompt']} prompt tokens"
            gen = f", {cell['gen']} generated" if cell["gen"] else ""
            return f"decode tok/s at {prompt}{gen}"
        if ttft := _TTFT.match(name):
            which = "cold" if ttft["which"] == "cold" else ttft["which"]
            return f"TTFT {which} at {ttft['prompt']} prompt tokens"
        if level := _LEVEL.match(name):
            what = level["what"]
            if what in _LEVEL_FIGURES:
                return f"{_LEVEL_FIGURES[what]} {_level(level)}"
            if pct := _PERCENTILE.match(what):
                return f"{_LATENCY[pct['kind']]} {pct['p']} {_level(level)}"
        if pct := _PERCENTILE.match(name):
            return f"{_LATENCY[pct['kind']]} {pct['p']}"
    shown = _METRICS.get(metric, metric.replace("_", " "))
    return shown if name == metric else f"{name} {shown}"


def unit_label(unit: str | None) -> str:
    """A unit as printed after a value: a ratio prints bare (``0.80``), seconds as ``s``."""
    return UNIT_LABELS.get(unit or "", unit or "")
