"""One run's results as the tables people read: a prompt x generated-tokens grid, one row per load level,
quality tasks with their standard errors, tool-use categories.

Plain data (``Section``: title, columns, rows of display strings), so the terminal (rich), Markdown and CSV
render the same thing. Each result lands in exactly one section; what no shape claims goes to "other results".
The envelope is only read.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

CELL = re.compile(r"^tok_per_sec_(?P<prompt>\d+)(?:_g(?P<gen>\d+))?$")
# a load level's own figures (its row shows p50 and p99); any other result named after a level (goodput,
# SLO shares) goes to another table
LEVEL = re.compile(r"^(?P<level>concurrency_(?P<n>\d+)|rate_(?P<rate>[0-9.e+-]+))_"
                   r"(?P<what>output_tok_per_sec|requests_per_sec|(?:ttft|itl|tpot|e2e)_p\d+(?:\.\d+)?_ms)$")
TTFT = re.compile(r"^ttft_ms_(?P<prompt>\d+)_(?P<which>cold|p\d+)$")
TOOL_METRICS = ("accuracy", "json_valid_rate", "schema_valid_rate")
SPEED_SUITES = ("throughput", "ttft")


@dataclass(frozen=True)
class Section:
    """One table: a title, column names, rows of display strings, and notes printed under it.

    ``numeric`` holds the indexes of right-aligned (number) columns, ``no_wrap`` those kept on one line (by
    default the first, which names the row), ``clip`` maps columns cut short with an ellipsis to their widest.
    ``drop_order``: the columns a narrow terminal leaves out first (default: the rightmost first).
    """

    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    numeric: frozenset[int] = frozenset()
    notes: list[str] = field(default_factory=list)
    no_wrap: frozenset[int] = frozenset({0})
    clip: dict[int, int] = field(default_factory=dict)
    drop_order: tuple[int, ...] = ()


def num(value: Any, digits: int | None = None) -> str:
    """A number for reading: thousands separated, fewer decimals the larger it is; "-" for none."""
    if value is None or isinstance(value, bool):
        return "-"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "-"
    if digits is not None:
        return f"{number:,.{digits}f}"
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    magnitude = abs(number)
    return f"{number:,.0f}" if magnitude >= 100 else f"{number:.1f}" if magnitude >= 10 else f"{number:.2f}"


def spread(values: Any) -> float | None:
    """Sample standard deviation of a result's per-trial values (``raw.trials``); None under two trials."""
    if not isinstance(values, list):
        return None
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return statistics.stdev(numbers) if len(numbers) >= 2 else None


def _tags(result: JSON) -> dict[str, str]:
    tags = result.get("tags")
    return tags if isinstance(tags, dict) else {}


def _trials(result: JSON) -> Any:
    raw = result.get("raw")
    return raw.get("trials") if isinstance(raw, dict) else None


def _with_spread(result: JSON, value: Any) -> str:
    deviation = spread(_trials(result))
    return num(value) + (f" ± {num(deviation)}" if deviation is not None else "")


def _tag_number(tags: dict[str, str], key: str) -> float | None:
    try:
        return float(tags[key])
    except (KeyError, ValueError):
        return None


def throughput_grid(cells: Sequence[JSON]) -> Section:
    """llama-bench's view: one row per prompt length x generated tokens."""
    mlx = any("mlx_peak_memory_mb" in _tags(r) for r in cells)
    columns = ("prompt", "gen", "prompt tok/s", "decode tok/s", "TTFT ms", "peak MB") + (("MLX peak MB",) if mlx else ())
    rows = []
    for result in cells:
        tags, match = _tags(result), CELL.match(result["name"])
        assert match is not None
        prompt = tags.get("prompt_tokens") if tags.get("prompt_tokens", "unknown") != "unknown" else match["prompt"]
        gen = tags.get("gen_tokens_requested") or match["gen"] or "-"
        row = (num(prompt), num(gen), num(result.get("prompt_tokens_per_second")),
               _with_spread(result, result.get("decode_tokens_per_second", result["value"])),
               num(result.get("first_token_latency_ms")), num(result.get("peak_rss_mb")))
        rows.append(row + ((num(tags.get("mlx_peak_memory_mb")),) if mlx else ()))
    trials = sorted({_tags(r).get("trials", "") for r in cells} - {""})
    notes = [f"decode tok/s: median of {'/'.join(trials)} trials ± sample stddev; prompt tok/s, TTFT: medians"] \
        if trials else []
    return Section("Throughput", columns, rows, frozenset(range(len(columns))), notes)


def _level_label(match: re.Match[str]) -> tuple[str, float]:
    if match["n"] is not None:
        return f"conc {match['n']}", float(match["n"])
    return f"rate {num(float(match['rate']))}", 1e9 + float(match["rate"])


def load_levels(results: Sequence[JSON]) -> Section:
    """GuideLLM's view: one row per concurrency level or offered rate."""
    levels: dict[str, dict[str, JSON]] = {}
    order: dict[str, tuple[str, float]] = {}
    for result in results:
        match = LEVEL.match(result["name"])
        assert match is not None
        levels.setdefault(match["level"], {})[match["what"]] = result
        order[match["level"]] = _level_label(match)
    columns = ("load", "req/s", "out\ntok/s", "TTFT ms\np50/p99", "ITL ms\np50/p99", "TPOT ms\np50/p99",
               "e2e ms\np50/p99", "keeps\nup")
    rows = []
    for level in sorted(levels, key=lambda key: (order[key][1] >= 1e9, order[key][1])):
        figures = levels[level]
        tags = _tags(next(iter(figures.values())))

        def value(what: str, figures: dict[str, JSON] = figures) -> float | None:
            result = figures.get(what)
            return float(result["value"]) if result is not None else None

        def pair(latency: str) -> str:
            return f"{num(value(f'{latency}_p50_ms'))}/{num(value(f'{latency}_p99_ms'))}"

        achieved = num(value("requests_per_sec"))
        offered = _tag_number(tags, "request_rate")
        keeps_up = {"true": "yes", "false": "NO"}.get(tags.get("keeps_up", ""), "-" if offered is None else "?")
        rows.append((order[level][0], achieved if offered is None else f"{achieved} of {num(offered)}",
                     num(value("output_tok_per_sec")), pair("ttft"), pair("itl"), pair("tpot"), pair("e2e"),
                     keeps_up))
    notes = ["rate R: R requests/s offered, req/s: achieved of offered;",
             "keeps up: answers kept at least 90% of the arrivals' pace"] \
        if any("request_rate" in _tags(r) for r in results) else []
    # narrow terminals lose TPOT and ITL first: rate, TTFT, end-to-end latency and keeping up answer the question
    return Section("Load levels", columns, rows, frozenset(range(1, 7)), notes, drop_order=(5, 4, 2, 6, 3, 7, 1))


def ttft_table(results: Sequence[JSON]) -> Section:
    """Time to first token per prompt length: cold, then the warm percentiles."""
    by_prompt: dict[int, dict[str, JSON]] = {}
    for result in results:
        match = TTFT.match(result["name"])
        assert match is not None
        by_prompt.setdefault(int(match["prompt"]), {})[match["which"]] = result
    percentiles = sorted({w for cells in by_prompt.values() for w in cells if w != "cold"}, key=lambda p: int(p[1:]))
    columns = ("prompt", "cold ms", *(f"{p} ms" for p in percentiles), "prompt tok/s")
    rows = []
    for prompt, cells in sorted(by_prompt.items()):
        tok_s = next((c.get("prompt_tokens_per_second") for c in cells.values()
                      if c.get("prompt_tokens_per_second") is not None), None)
        rows.append((num(prompt), num(cells["cold"]["value"]) if "cold" in cells else "-",
                     *(num(cells[p]["value"]) if p in cells else "-" for p in percentiles), num(tok_s)))
    return Section("Time to first token", columns, rows, frozenset(range(len(columns))))


def _value_with_stderr(result: JSON, *, precise: bool = True) -> str:
    tags, value = _tags(result), float(result["value"])
    digits = (4 if precise else 3) if result.get("unit") == "ratio" else None
    stderr = _tag_number(tags, "stderr")
    text = num(value, digits) + (f" ± {num(stderr, digits)}" if stderr is not None else "")
    return text if result.get("unit") in ("ratio", "") else f"{text} {result['unit']}"


def _count(tags: dict[str, str], key: str) -> str:
    return num(tags[key]) if key in tags else "-"


def quality_table(results: Sequence[JSON]) -> Section:
    """lm-eval's view: task, metric, value ± stderr, n, errors."""
    rows = [(r["name"], r["metric"], _value_with_stderr(r), _count(_tags(r), "n_samples"), _count(_tags(r), "n_errors"))
            for r in results]
    return Section("Quality", ("task", "metric", "value ± stderr", "n", "errors"), rows, frozenset({2, 3, 4}))


def tool_table(results: Sequence[JSON]) -> Section:
    """BFCL's view: one row per category, accuracy with its stderr, valid-JSON and schema rates, top failure."""
    categories: dict[str, dict[str, JSON]] = {}
    for result in results:
        categories.setdefault(result["name"], {})[result["metric"]] = result
    rows = []
    for name, metrics in categories.items():
        head = metrics.get("accuracy") or next(iter(metrics.values()))
        tags = _tags(head)
        failures = {k[5:]: int(v) for k, v in tags.items() if k.startswith("fail_") and v.isdigit()}
        top = max(failures, key=lambda k: (failures[k], k)) if failures else "-"
        rates = [num(metrics[m]["value"], 2) if m in metrics else "-" for m in TOOL_METRICS[1:]]
        rows.append((name, _value_with_stderr(head, precise=False), *rates, _count(tags, "n_samples"), _count(tags, "n_errors"),
                     f"{top} {failures[top]}" if failures else top))
    notes = [f"overall: macro accuracy {num(float(m), 4)}" for r in results if r["name"] == "overall"
             and (m := _tags(r).get("macro_accuracy"))]
    return Section("Tool use", ("category", "accuracy ± se", "JSON", "schema", "n", "err", "top failure"),
                   rows, frozenset({1, 2, 3, 4, 5}), notes)


def framework_table(results: Sequence[JSON]) -> Section:
    """One row per agent framework: task success with its stderr, then the means that explain it."""
    frameworks: dict[str, dict[str, JSON]] = {}
    for result in results:
        frameworks.setdefault(result["name"], {})[result["metric"]] = result
    rows = []
    for name, metrics in frameworks.items():
        def value(metric: str, metrics: dict[str, JSON] = metrics, digits: int | None = None) -> str:
            return num(metrics[metric]["value"], digits) if metric in metrics else "-"

        head = metrics.get("success_rate") or next(iter(metrics.values()))
        rows.append((name, _value_with_stderr(head, precise=False), _count(_tags(head), "n_samples"),
                     value("mean_steps"), value("mean_tool_calls"), value("tool_error_rate", digits=2),
                     value("mean_tokens"), value("mean_latency")))
    return Section("Agent frameworks", ("framework", "success ± se", "tasks", "steps", "calls", "tool err",
                                        "tokens", "seconds"), rows, frozenset(range(1, 8)),
                   ["steps, calls, tokens, seconds: means per task; tool err: failed calls / calls"])


def llama_bench_table(results: Sequence[JSON]) -> Section:
    """Imported llama-bench results as llama-bench prints them: test (pp512, tg128) and t/s ± stddev."""
    rows = []
    for result in results:
        stddev = _tag_number(_tags(result), "stddev")
        rows.append((result["name"], num(result["value"]) + (f" ± {num(stddev)}" if stddev is not None else "")))
    return Section("llama-bench", ("test", "t/s"), rows, frozenset({1}))


def other_table(results: Sequence[JSON]) -> Section:
    rows = [(r["name"], r["metric"], num(r["value"]), r["unit"]) for r in results]
    return Section("Other results", ("name", "metric", "value", "unit"), rows, frozenset({2}))


def _is_tool_result(suite: str, result: JSON) -> bool:
    return suite == "tool-calling" and result["metric"] in TOOL_METRICS


def _is_quality(suite: str, result: JSON) -> bool:
    if suite in SPEED_SUITES:
        return False
    return result.get("unit") == "ratio" or any(k in _tags(result) for k in ("n_samples", "stderr"))


# (claims a result?, builds the section from the results it claimed); first claim wins
SHAPES: tuple[tuple[Callable[[str, JSON], bool], Callable[[Sequence[JSON]], Section]], ...] = (
    (lambda suite, r: CELL.match(r["name"]) is not None and r.get("unit") == "tok/s", throughput_grid),
    (lambda suite, r: LEVEL.match(r["name"]) is not None, load_levels),
    (lambda suite, r: TTFT.match(r["name"]) is not None and r.get("unit") == "ms", ttft_table),
    (lambda suite, r: _tags(r).get("imported_from") == "llama-bench" and r.get("unit") == "tok/s", llama_bench_table),
    (_is_tool_result, tool_table),
    (lambda suite, r: suite == "framework-eval", framework_table),
    (_is_quality, quality_table),
    (lambda suite, r: True, other_table),
)


def summary_sections(envelope: JSON) -> list[Section]:
    """The run's results, each in the one table whose shape it has, tables in a fixed order."""
    claimed: list[list[JSON]] = [[] for _ in SHAPES]
    suite = str(envelope.get("suite", ""))
    for result in envelope.get("results", []):
        index = next(i for i, (claims, _) in enumerate(SHAPES) if claims(suite, result))
        claimed[index].append(result)
    return [build(results) for (_, build), results in zip(SHAPES, claimed, strict=True) if results]


def headline_of(suite: str, results: Iterable[JSON]) -> str:
    """One short figure that says how a run went, for the run list."""
    results = list(results)
    cells = [r for r in results if CELL.match(r["name"]) and r.get("unit") == "tok/s"]
    if cells:
        values = sorted(float(r["value"]) for r in cells)
        span = num(values[0]) if len(values) == 1 or num(values[0]) == num(values[-1]) \
            else f"{num(values[0])}–{num(values[-1])}"
        return f"tg {span} tok/s"
    outputs = [float(r["value"]) for r in results if r["name"].endswith("_output_tok_per_sec")]
    if outputs:
        return f"{num(max(outputs))} tok/s out (max)"
    ttft = [r for r in results if TTFT.match(r["name"]) and r["name"].endswith("_p50")]
    if ttft:
        return f"TTFT p50 {num(ttft[0]['value'])} ms"
    firsts: dict[str, JSON] = {}
    for result in results:
        firsts.setdefault(result["name"], result)
    if "overall" in firsts:
        return f"overall {num(firsts['overall']['value'], 3)}"
    if len(firsts) == 1:
        only = next(iter(firsts.values()))
        if only["unit"] == "ratio":
            return f"{only['name']} {num(only['value'], 3)}"
        return f"{only['name']} {num(only['value'])} {only['unit']}"
    if firsts and all(r.get("unit") == "ratio" for r in firsts.values()):
        mean = sum(float(r["value"]) for r in firsts.values()) / len(firsts)
        return f"mean {num(mean, 3)} ({len(firsts)} tasks)"
    # imported speed results (llama-bench's tg128, vllm's output_tokens_per_second): the generation speed
    speed = next((r for r in results if r.get("unit") == "tok/s" and (re.match(r"tg\d+", r["name"])
                                                                       or "output" in r["name"])), None)
    if speed is not None:
        return f"{speed['name'].split('_')[0]} {num(speed['value'])} tok/s"
    return f"{len(results)} results" if results else "-"


def _joined(values: Iterable[str]) -> str:
    unique = list(dict.fromkeys(v for v in values if v))
    return ",".join(unique)


def parameters_of(suite: str, results: Iterable[JSON], gen_kwargs: JSON | None = None) -> str:
    """The few parameters that tell runs of one suite apart: grid, load levels, sample limit, generation cap."""
    results = list(results)
    tags = [_tags(r) for r in results]
    parts = []
    prompts = _joined(t.get("prompt_tokens_requested", "") for r, t in zip(results, tags, strict=True)
                      if CELL.match(r["name"]) or TTFT.match(r["name"]))
    gens = _joined(t.get("gen_tokens_requested", "") for r, t in zip(results, tags, strict=True)
                   if CELL.match(r["name"]))
    if prompts:
        parts.append(f"pp {prompts}" + (f" tg {gens}" if gens else ""))
    concurrency = _joined(m["n"] for r in results if (m := LEVEL.match(r["name"])) and m["n"])
    rates = _joined(m["rate"] for r in results if (m := LEVEL.match(r["name"])) and m["rate"])
    if concurrency:
        parts.append(f"c {concurrency}")
    if rates:
        parts.append(f"rate {rates}")
    limits = _joined(t.get("n_limit", "") for t in tags)
    if limits:
        parts.append(f"limit {limits}")
    steps = _joined(t.get("max_steps", "") for t in tags)
    if steps:
        parts.append(f"steps {steps}")
    if not prompts and gen_kwargs and gen_kwargs.get("max_gen_toks"):
        parts.append(f"max {gen_kwargs['max_gen_toks']} tok")
    return ", ".join(parts) or "-"
