"""framework-eval against the scripted tool server: the baseline loop and smolagents, success and failure."""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
from typing import Any

import pytest

from mlx_benchmarks.agents.openai_adapter import flatten_content, to_chat_request
from mlx_benchmarks.agents.tasks import TASKS
from mlx_benchmarks.errors import PrerequisiteError, UsageError
from mlx_benchmarks.suites.base import SuiteOutcome
from mlx_benchmarks.suites.framework_eval import FrameworkEvalSuite
from tests.doubles.scripted_tool_server import ScriptedToolServer
from tests.tools.helpers import result, run_against
from tests.tools.test_agent_frameworks import hide_distribution, offline_environment_undone  # noqa: F401

SOME = "order_total,fallback_file,capital_from_file"


def run(mode: str, **options: Any) -> SuiteOutcome:
    async def main() -> SuiteOutcome:
        async with ScriptedToolServer() as server:
            return await run_against(server, mode, FrameworkEvalSuite(), {"max_steps": 5, **options})
    return asyncio.run(main())


def test_baseline_solves_every_task_with_the_reference_plan() -> None:
    outcome = run("gold", frameworks="baseline")
    success = result(outcome, "baseline", "success_rate")
    assert success.value == 1.0 and success.tags["n_samples"] == str(len(TASKS))
    calls = sum(len(t.reference) for t in TASKS)
    assert success.tags["tool_calls"] == str(calls)
    assert success.tags["tool_errors"] == "1"  # fallback_file: report.txt does not exist
    assert result(outcome, "baseline", "mean_steps").value == pytest.approx((calls + len(TASKS)) / len(TASKS))
    assert int(success.tags["prompt_tokens"]) > 0 and float(success.tags["latency_s_mean"]) > 0
    assert success.tags["cached_prompt_tokens"] == "0", "the scripted server reports no cached tokens"
    assert result(outcome, "baseline", "tool_error_rate").value == pytest.approx(1 / calls)
    assert not outcome.errors


def test_looping_model_hits_the_step_cap() -> None:
    outcome = run("loop", frameworks="baseline", tasks=SOME, max_steps=3)
    success = result(outcome, "baseline", "success_rate")
    assert success.value == 0.0 and success.tags["fail_step_limit"] == "3"
    assert result(outcome, "baseline", "mean_steps").value == 3.0


def test_dead_target_is_a_scored_failure_not_a_crash() -> None:
    outcome = run("reject", frameworks="baseline", tasks=SOME)
    assert result(outcome, "baseline", "success_rate").tags["fail_target_error"] == "3"
    assert any("failed to run" in e for e in outcome.errors)


def test_plain_text_answer_without_tools_is_a_wrong_answer() -> None:
    outcome = run("absent", frameworks="baseline", tasks=SOME)
    assert result(outcome, "baseline", "success_rate").tags["fail_wrong_answer"] == "3"


@pytest.mark.skipif(importlib.util.find_spec("smolagents") is None, reason="smolagents is not installed")
def test_smolagents_through_the_loopback_adapter() -> None:
    outcome = run("gold", frameworks="baseline,smolagents", tasks=SOME)
    smol = result(outcome, "smolagents", "success_rate")
    assert smol.value == 1.0, outcome.samples
    assert smol.tags["tool_calls"] == result(outcome, "baseline", "success_rate").tags["tool_calls"]
    assert int(smol.tags["completion_tokens"]) > 0
    assert smol.tags["framework_version"] == importlib.metadata.version("smolagents")
    assert "openai==" in smol.tags["framework_packages"]
    looping = run("loop", frameworks="smolagents", tasks="order_total", max_steps=2)
    assert result(looping, "smolagents", "success_rate").tags["fail_step_limit"] == "1"


def test_missing_framework_is_refused_before_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_distribution(monkeypatch, "smolagents")
    message = "smolagents is not installed \\(smolagents\\); install it with: pip install 'mlx-benchmarks\\[agents\\]'"
    with pytest.raises(PrerequisiteError, match=message):
        FrameworkEvalSuite().validate_options({"frameworks": "baseline,smolagents"})
    with pytest.raises(PrerequisiteError, match=message):  # the suite itself checks too, before any request
        run("gold", frameworks="smolagents", tasks="order_total")
    FrameworkEvalSuite().validate_options({"frameworks": "baseline"})


def test_options_and_adapter_translation() -> None:
    suite = FrameworkEvalSuite()
    with pytest.raises(UsageError, match="unknown framework 'crewai'"):
        suite.validate_options({"frameworks": "baseline,crewai"})
    with pytest.raises(UsageError, match="--tasks"):
        suite.validate_options({"tasks": "nope"})
    assert flatten_content([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]) == "ab"
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                         {"role": "assistant", "content": None,
                          "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": "{}"}}]},
                         {"role": "tool", "tool_call_id": "1", "content": "42"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}], "max_tokens": 9}
    native = to_chat_request(body, native_tools=True, default_max_tokens=5, seed=1)
    assert native.tools and native.messages[0]["content"] == "hi" and native.max_tokens == 9
    assert native.cache_prompt, "a framework re-sends the conversation: the in-process target may reuse it"
    text = to_chat_request(body, native_tools=False, default_max_tokens=5, seed=1)
    assert text.tools is None and "<tools>" in text.messages[0]["content"]
    assert "<tool_call>" in text.messages[2]["content"] and "<tool_response>" in text.messages[3]["content"]
