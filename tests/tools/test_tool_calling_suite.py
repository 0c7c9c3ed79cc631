"""The tool-calling suite end to end against the scripted tool server: every scorer path."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mlx_benchmarks.datasets import bfcl
from mlx_benchmarks.envelope import Envelope
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.suites.base import SuiteOutcome
from mlx_benchmarks.suites.tool_calling import HERMES_SYSTEM, ToolCallingSuite, error_failure
from tests.doubles.scripted_tool_server import ScriptedToolServer
from tests.tools.helpers import result, run_against


def run(mode: str, tasks: str, limit: int = 3, **extra: Any) -> SuiteOutcome:
    async def main() -> SuiteOutcome:
        async with ScriptedToolServer() as server:
            return await run_against(server, mode, ToolCallingSuite(),
                                     {"tasks": tasks, "limit": limit, "concurrency": 3, **extra})
    return asyncio.run(main())


def test_gold_native_calls_score_full_marks_with_timing_and_validity() -> None:
    outcome = run("gold", "simple,parallel_multiple,irrelevance,live_relevance")
    for category in ("simple", "parallel_multiple", "irrelevance", "live_relevance"):
        accuracy = result(outcome, category, "accuracy")
        assert accuracy.value == 1.0, accuracy.tags
        assert accuracy.tags["n_samples"] == "3" and accuracy.tags["tool_prompt"] == "native"
        assert accuracy.tags["license"] == "Apache-2.0"
    simple = result(outcome, "simple", "accuracy")
    assert simple.tags["path_native"] == "3" and "fail_no_call" not in simple.tags
    assert float(simple.tags["first_tool_call_ms_p50"]) > 0 and simple.first_token_latency_ms is not None
    assert result(outcome, "simple", "json_valid_rate").value == 1.0
    assert result(outcome, "simple", "schema_valid_rate").value == 1.0
    assert result(outcome, "overall", "accuracy").value == 1.0
    assert len(outcome.samples) == 12 and not outcome.errors
    Envelope(suite="tool-calling", model="m", system={"os": "linux", "chip": "x86_64", "memory_gb": 24}, git_sha="0" * 40,
             results=outcome.results).validated()


@pytest.mark.parametrize(("mode", "path"), [("hermes", "hermes"), ("llama", "llama3-python-tag")])
def test_calls_in_text_are_parsed_and_their_path_recorded(mode: str, path: str) -> None:
    outcome = run(mode, "simple,parallel")
    for category in ("simple", "parallel"):
        accuracy = result(outcome, category, "accuracy")
        assert accuracy.value == 1.0
        assert accuracy.tags[f"path_{path}"] == str(sum(s["detail"]["n_calls"] for s in outcome.samples
                                                         if s["task"] == category))
        assert "path_native" not in accuracy.tags
    assert {p for s in outcome.samples for p in s["detail"]["paths"]} == {path}


def test_text_calls_can_be_switched_off() -> None:
    outcome = run("hermes", "simple", text_calls=False)
    assert result(outcome, "simple", "accuracy").value == 0.0
    assert result(outcome, "simple", "accuracy").tags["fail_no_call"] == "3"


@pytest.mark.parametrize(("mode", "category", "failure"), [
    ("wrong", "simple", "wrong_arguments"),
    ("wrongfn", "multiple", "wrong_function"),
    ("malformed", "simple", "invalid_json"),
    ("absent", "parallel", "no_call"),
    ("extra", "simple", "extra_calls"),
    ("wrong", "irrelevance", "unexpected_call"),
    ("truncate", "simple", "truncated"),
    ("reject", "simple", "rejected"),
])
def test_each_failure_is_scored_with_its_reason(mode: str, category: str, failure: str) -> None:
    outcome = run(mode, category)
    accuracy = result(outcome, category, "accuracy")
    assert accuracy.value == 0.0
    assert accuracy.tags[f"fail_{failure}"] == "3"
    assert all(s["detail"]["failure"] == failure and s["score"] == 0.0 for s in outcome.samples)
    if failure in ("truncated", "rejected"):
        assert accuracy.tags["n_errors"] == "3" and outcome.errors
        assert all(s["error"] for s in outcome.samples)
    if failure == "invalid_json":
        assert result(outcome, category, "json_valid_rate").value == 0.0
    if failure == "wrong_function":
        assert result(outcome, category, "schema_valid_rate").value == 0.0


def test_mixed_answers_give_a_taxonomy() -> None:
    outcome = run("mixed", "simple", limit=24, concurrency=4)
    accuracy = result(outcome, "simple", "accuracy")
    failures = {k for k in accuracy.tags if k.startswith("fail_")}
    assert len(failures) >= 3
    right = sum(1 for s in outcome.samples if s["score"] == 1.0)
    assert 0 < right < 24 and accuracy.value == pytest.approx(right / 24)
    assert float(accuracy.tags["stderr"]) > 0


def test_text_only_target_gets_tools_in_a_system_prompt() -> None:
    suite = ToolCallingSuite()
    records, _ = bfcl.load("simple")

    class _Ctx:
        seed = 1

        def option(self, name: str, default: Any = None) -> Any:
            return default

    task = suite._task(_Ctx(), "simple", records[:1], native=False)  # type: ignore[arg-type]
    request = task.build_request(records[0])
    assert request.tools is None and request.tool_choice is None
    assert request.messages[0]["role"] == "system"
    assert HERMES_SYSTEM.split("<tools>")[0] in request.messages[0]["content"]
    assert records[0].meta["functions"][0]["name"].replace(".", "_") in request.messages[0]["content"]


def test_options_are_validated() -> None:
    suite = ToolCallingSuite()
    with pytest.raises(UsageError, match="unknown category 'bogus'"):
        suite.validate_options({"tasks": "simple,bogus"})
    with pytest.raises(UsageError, match="--limit"):
        suite.validate_options({"limit": 0})
    suite.validate_options({"tasks": "all", "limit": 5})
    assert error_failure("TargetProtocolError: HTTP 400: bad schema") == "rejected"
    assert error_failure("TargetProtocolError: x ended the stream before the answer finished") == "truncated"
    assert error_failure("TargetTimeout: slow") == "target_error"
