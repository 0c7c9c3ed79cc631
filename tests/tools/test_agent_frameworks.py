"""Qwen-Agent, Google ADK and LangGraph in framework-eval, each through its own code path against the scripted
tool server (a test double) via the real OpenAITarget and the loopback adapter; a missing one stops the run."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.agents.frameworks import OFFLINE_ENVIRONMENT
from mlx_benchmarks.agents.tasks import SYSTEM_PROMPT
from mlx_benchmarks.agents.tools import SPECS
from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import PrerequisiteError
from mlx_benchmarks.suites.base import SuiteOutcome
from mlx_benchmarks.suites.framework_eval import RUNNERS, FrameworkEvalSuite
from tests.doubles.scripted_tool_server import ScriptedToolServer
from tests.tools.helpers import result, run_against

TWO = "order_total,fallback_file"  # 3 + 3 reference calls; fallback_file's first read fails on purpose
QWEN_TEMPLATE = "within <tool_call></tool_call> XML tags"  # Qwen-Agent's own nous function-calling prompt
# the scripted server writes calls as <tool_call> text for Qwen-Agent, which parses its own replies
GOLD_MODE = {"qwen-agent": "hermes", "google-adk": "gold", "langgraph": "gold"}
LOOP_MODE = {"qwen-agent": "loop-hermes", "google-adk": "loop", "langgraph": "loop"}


@pytest.fixture(autouse=True)
def offline_environment_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runners switch telemetry off for the whole process (as they should for users); a test undoes it."""
    for key in OFFLINE_ENVIRONMENT:
        monkeypatch.setenv(key, os.environ.get(key, "unset"))
        if os.environ[key] == "unset":
            monkeypatch.delenv(key)  # recorded after setenv, so teardown removes what a runner sets


def installed(name: str) -> Any:
    return pytest.mark.skipif(bool(RUNNERS[name].missing()), reason=f"{name} is not installed")


FRAMEWORKS = [pytest.param(name, marks=installed(name)) for name in GOLD_MODE]


def run(mode: str, **options: Any) -> tuple[SuiteOutcome, list[dict[str, Any]]]:
    async def main() -> tuple[SuiteOutcome, list[dict[str, Any]]]:
        async with ScriptedToolServer() as server:
            outcome = await run_against(server, mode, FrameworkEvalSuite(), {"max_steps": 5, **options})
            return outcome, server.requests
    return asyncio.run(main())


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_framework_solves_the_tasks_through_its_own_path(framework: str) -> None:
    outcome, requests = run(GOLD_MODE[framework], frameworks=framework, tasks=TWO)
    success = result(outcome, framework, "success_rate")
    assert success.value == 1.0, outcome.samples
    assert success.tags["tool_calls"] == "6" and success.tags["tool_errors"] == "1"
    assert result(outcome, framework, "mean_steps").value == 4.0  # three turns with calls, one answer
    assert int(success.tags["prompt_tokens"]) > 0 and int(success.tags["completion_tokens"]) > 0
    runner = RUNNERS[framework]
    for tagged in (r for r in outcome.results if r.name == framework):
        assert tagged.tags["framework_version"] == importlib.metadata.version(runner.distributions[0])
        assert float(tagged.tags["framework_import_s"]) >= 0  # imported before the first task's clock
        assert f"{runner.distributions[-1]}=={importlib.metadata.version(runner.distributions[-1])}" in \
            tagged.tags["framework_packages"]
    assert not outcome.errors
    assert len(requests) == 8
    system = str(requests[0]["messages"][0]["content"])
    if framework == "qwen-agent":  # its own prompt: tools in the system text, results as user turns
        assert all("tools" not in body for body in requests) and QWEN_TEMPLATE in system
        assert "<tool_response>" in str(requests[1]["messages"][-1]["content"])
    else:  # native tools, our four schemas (ADK rebuilds them from the typed functions)
        assert all(sorted(t["function"]["name"] for t in body["tools"]) == sorted(s["name"] for s in SPECS)
                   for body in requests)
        assert SYSTEM_PROMPT in system and requests[1]["messages"][-1]["role"] == "tool"
    if framework == "langgraph":  # StructuredTool with our JSON schema as args_schema: sent as written
        assert [t["function"]["parameters"] for t in requests[0]["tools"]] == [s["parameters"] for s in SPECS]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_looping_model_stops_at_the_step_cap(framework: str) -> None:
    outcome, requests = run(LOOP_MODE[framework], frameworks=framework, tasks="order_total", max_steps=2)
    success = result(outcome, framework, "success_rate")
    assert success.value == 0.0 and success.tags["fail_step_limit"] == "1", outcome.samples
    assert success.tags["steps_mean"] == "2.0" and success.tags["tool_calls"] == "2"
    assert len(requests) == 2


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_dead_target_is_a_scored_failure(framework: str) -> None:
    mode = "reject" if framework != "qwen-agent" else "truncate"  # reject answers 400 only to a tools field
    outcome, requests = run(mode, frameworks=framework, tasks="order_total")
    success = result(outcome, framework, "success_rate")
    assert success.value == 0.0 and outcome.errors and "failed to run" in outcome.errors[0], outcome.samples
    assert success.tags["fail_framework_error"] == "1" and success.tags["steps_mean"] == "1.0"
    # the adapter retries as the baseline does and tells the framework's client not to retry on top
    assert len(requests) == len(run(mode, frameworks="baseline", tasks="order_total")[1])


def hide_distribution(monkeypatch: pytest.MonkeyPatch, hidden: str) -> None:
    """Make ``hidden`` look uninstalled to ``importlib.metadata`` (how runners find their packages)."""
    real = importlib.metadata.version

    def version(dist: str) -> str:
        if dist == hidden:
            raise importlib.metadata.PackageNotFoundError(dist)
        return real(dist)

    monkeypatch.setattr(importlib.metadata, "version", version)


def test_a_missing_framework_stops_the_run_before_any_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    hide_distribution(monkeypatch, "langchain-openai")
    with ScriptedToolServer().in_thread() as server:
        code = main(["run", "framework-eval", "--target", server.url("gold"), "--frameworks", "baseline,langgraph",
                     "--store", str(tmp_path), "--git-sha", "abcdef0"])
        sent = list(server.requests)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["mlx-bench: error: framework-eval: langgraph is not installed (langchain-openai); "
                                 "install it with: pip install 'mlx-benchmarks[langgraph]'"]
    assert sent == [] and not any(tmp_path.glob("runs/*"))


def test_a_framework_that_cannot_be_imported_stops_the_run_before_any_request(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ModuleNotFoundError("No module named 'soundfile'")

    monkeypatch.setitem(RUNNERS, "qwen-agent", dataclasses.replace(RUNNERS["qwen-agent"], load=broken))
    sent: list[dict[str, Any]] = []

    async def main() -> None:
        async with ScriptedToolServer() as server:
            try:
                await run_against(server, "hermes", FrameworkEvalSuite(), {"frameworks": "baseline,qwen-agent"})
            finally:
                sent.extend(server.requests)

    message = "qwen-agent cannot be imported (ModuleNotFoundError: No module named 'soundfile'); reinstall it with"
    with pytest.raises(PrerequisiteError, match=re.escape(message)):
        asyncio.run(main())
    assert sent == [], "not even the baseline may start before every framework is importable"


def test_every_runner_names_an_extra_of_the_package(repo_root: Path) -> None:
    import tomllib

    extras = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for runner in RUNNERS.values():
        listed = " ".join(extras[runner.extra]).lower()
        assert all(dist in listed for dist in runner.distributions), (runner.extra, runner.distributions)
    assert json.dumps(sorted(RUNNERS)) == '["google-adk", "langgraph", "qwen-agent", "smolagents"]'
