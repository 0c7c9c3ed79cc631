"""The BFCL structural checker: every failure category, the value rules, and gold answers on real data."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.datasets import bfcl
from mlx_benchmarks.scoring.tool_ast import FAILURES, check_sample
from mlx_benchmarks.scoring.tool_parsers import ParsedCall
from tests.tools.gold import gold_calls

WEATHER = {
    "name": "weather.get",
    "description": "Weather for a city.",
    "parameters": {"type": "dict", "required": ["city"], "properties": {
        "city": {"type": "string"}, "days": {"type": "integer"}, "scale": {"type": "float"},
        "metric": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}},
        "opts": {"type": "dict", "properties": {"a": {"type": "integer"}}},
    }},
}
OTHER = {"name": "news", "description": "News.", "parameters": {"type": "dict", "properties": {"topic": {"type": "string"}}}}
FUNCTIONS = [WEATHER, OTHER]
ANSWER = [{"weather.get": {"city": ["New York, NY", "NYC"], "days": [3], "scale": ["", 1.5], "metric": ["", True],
                           "tags": ["", ["Rain", "Wind"]], "opts": ["", {"a": [1]}]}}]


def call(args: dict[str, Any] | None, name: str = "weather_get") -> ParsedCall:
    return ParsedCall(name, args, json.dumps(args) if args is not None else "{oops", "native")


def verdict(kind: str, calls: list[ParsedCall], answer: Any = ANSWER) -> str | None:
    return check_sample(kind, FUNCTIONS, calls, answer).failure


def test_right_call_with_normalised_string_and_int_for_float() -> None:
    assert verdict("simple", [call({"city": "new york ny", "days": 3, "scale": 1.5})]) is None
    assert verdict("simple", [call({"city": "NYC", "days": 3, "scale": 1.5, "tags": ["rain", "wind"],
                                    "opts": {"a": 1}, "metric": True})]) is None
    answer = [{"weather.get": {"city": ["NYC"], "days": [3], "scale": [2.0]}}]
    assert verdict("simple", [call({"city": "NYC", "days": 3, "scale": 2})], answer) is None


def test_only_the_sent_name_is_accepted_as_bfcl_does() -> None:
    assert verdict("simple", [call({"city": "NYC", "days": 3}, name="weather_get")]) is None
    assert verdict("simple", [call({"city": "NYC", "days": 3}, name="weather.get")]) == "wrong_function"


@pytest.mark.parametrize(("calls", "expected"), [
    ([], "no_call"),
    ([call({"topic": "x"}, name="news")], "wrong_function"),
    ([call({"city": "Boston", "days": 3})], "wrong_arguments"),
    ([call({"city": "NYC", "days": "3"})], "wrong_arguments"),
    ([call({"city": "NYC", "days": True})], "wrong_arguments"),
    ([call({"city": "NYC", "days": 3, "colour": "red"})], "wrong_arguments"),
    ([call({"city": "NYC", "days": 3, "tags": ["Rain"]})], "wrong_arguments"),
    ([call({"city": "NYC", "days": 3, "opts": {"a": 2}})], "wrong_arguments"),
    ([call({"days": 3})], "missing_arguments"),
    ([call({"city": "NYC"})], "missing_arguments"),
    ([call(None)], "invalid_json"),
    ([call({"city": "NYC", "days": 3}), call({"city": "NYC", "days": 3})], "extra_calls"),
])
def test_each_failure_category(calls: list[ParsedCall], expected: str) -> None:
    assert expected in FAILURES
    assert verdict("simple", calls) == expected


def test_parallel_matches_greedily_in_answer_order_and_counts_calls() -> None:
    answer = [{"weather.get": {"city": ["NYC"], "days": [1]}}, {"weather.get": {"city": ["Paris"], "days": [2]}}]
    paris, nyc = call({"city": "paris", "days": 2}), call({"city": "NYC", "days": 1})
    assert verdict("parallel", [paris, nyc], answer) is None
    assert verdict("parallel", [nyc], answer) == "too_few_calls"
    assert verdict("parallel", [nyc, nyc], answer) == "wrong_arguments"
    assert verdict("parallel", [nyc, paris, nyc], answer) == "extra_calls"
    # BFCL's greedy matcher: the first answer takes the first call that fits it, even when a later answer
    # then has nothing left (parallel_178's shape); an assignment search would have found a match
    either = [{"weather.get": {"city": ["NYC", "Paris"], "days": [1, 2]}}, {"weather.get": {"city": ["NYC"], "days": [1]}}]
    assert verdict("parallel", [nyc, paris], either) == "wrong_arguments"
    assert verdict("parallel", [paris, nyc], either) is None


def test_irrelevance_and_relevance() -> None:
    assert verdict("irrelevance", []) is None
    assert verdict("irrelevance", [call({"city": "NYC"})]) == "unexpected_call"
    assert verdict("irrelevance", [call(None)]) is None  # an unparseable call is not a call, as in BFCL
    assert verdict("relevance", [call({"city": "x"})], None) is None
    assert verdict("relevance", [], None) == "no_call"
    assert verdict("relevance", [call(None)], None) == "invalid_json"


def test_gold_answers_pass_on_real_bfcl_data(tmp_path: Path) -> None:
    """Gold calls built from the possible answers pass (a handful of known BFCL data quirks aside)."""
    failed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for category, (_, kind) in bfcl.CATEGORIES.items():
        if kind in bfcl.ANSWERLESS:
            continue
        records, _ = bfcl.load(category, tmp_path)
        for record in records:
            functions, truth = record.meta["functions"], record.meta["ground_truth"]
            calls = list(reversed(gold_calls(functions, truth)))  # reversed: order must not matter
            total[category] += 1
            if not check_sample(kind, functions, calls, truth).valid:
                failed[category] += 1
    assert sum(total.values()) > 2300
    assert sum(failed.values()) / sum(total.values()) < 0.01
    assert all(failed[c] / total[c] < 0.03 for c in total)
