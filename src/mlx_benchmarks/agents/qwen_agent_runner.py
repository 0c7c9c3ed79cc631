"""Qwen-Agent: its ``FnCallAgent`` with our tools registered as Qwen-Agent tools (``register_tool``), on an
``oai`` model pointed at the loopback adapter, as the seed's ``eval_qwen_agent.py`` drives it.

Qwen-Agent does its own function-calling prompt (the default ``nous`` template: the tools in the system
prompt, ``<tool_call>`` tags in the reply, results as ``<tool_response>`` user turns), so it sends no
``tools`` field and parses the model's text itself; the adapter passes that text through untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlx_benchmarks.agents.frameworks import (
    FrameworkRunner,
    RunSettings,
    framework_error,
    go_offline,
    importer,
)
from mlx_benchmarks.agents.loop import THINK_RE, AgentRun
from mlx_benchmarks.agents.tasks import SYSTEM_PROMPT, AgentTask
from mlx_benchmarks.agents.tools import SPECS, Toolbox

NAME = "qwen-agent"


class StepLimitReached(Exception):
    """The agent asked for one model turn more than ``--max-steps`` allows."""


def _arguments(params: Any) -> dict[str, Any] | None:
    # Qwen-Agent hands a tool the model's argument text; its own parser is json5, so we accept that too
    if isinstance(params, dict):
        return params
    import json5

    try:
        value = json5.loads(params) if isinstance(params, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def register_tools() -> None:
    """Our four tools in Qwen-Agent's registry; each instance finds its task's toolbox in its config."""
    from qwen_agent.tools import TOOL_REGISTRY
    from qwen_agent.tools.base import BaseTool, register_tool

    for spec in SPECS:
        if getattr(TOOL_REGISTRY.get(spec["name"]), "mlx_bench_tool", False):
            continue

        class Tool(BaseTool):  # type: ignore[misc]
            description = spec["description"]
            parameters = spec["parameters"]
            mlx_bench_tool = True

            def call(self, params: str | dict[str, Any], **kwargs: Any) -> str:
                toolbox: Toolbox = self.cfg["toolbox"]
                return toolbox.run(self.name, _arguments(params))

        # ours are registered once per process (above); a foreign tool of the same name is replaced, with
        # Qwen-Agent's own warning (its built-in tools have other names)
        register_tool(spec["name"], allow_overwrite=spec["name"] in TOOL_REGISTRY)(Tool)


def _agent(settings: RunSettings, toolbox: Toolbox, calls: list[int]) -> Any:
    from qwen_agent.agents import FnCallAgent

    class CountedAgent(FnCallAgent):  # type: ignore[misc]
        """FnCallAgent that stops after ``max_steps`` model turns (its own cap is a module constant, 20)."""

        # No file memory: the tasks hand the agent no documents, and Qwen-Agent's default Memory (a RAG agent)
        # creates workspace/tools/* under the current folder when it starts.
        mem = None

        def _call_llm(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            if calls[0] >= settings.max_steps:
                raise StepLimitReached
            calls[0] += 1
            return super()._call_llm(*args, **kwargs)  # type: ignore[no-any-return]

    generate_cfg = {"temperature": 0.0, "max_tokens": settings.max_tokens, "max_retries": 0,
                    "request_timeout": settings.timeout_s, "fncall_prompt_type": "nous"}
    if settings.seed is not None:
        generate_cfg["seed"] = settings.seed
    llm = {"model": settings.model, "model_server": settings.base_url, "api_key": "loopback-adapter",
           "generate_cfg": generate_cfg}
    tools = [{"name": spec["name"], "toolbox": toolbox} for spec in SPECS]
    return CountedAgent(llm=llm, function_list=tools, system_message=SYSTEM_PROMPT, name="mlx-bench-agent")


def final_text(messages: list[Any]) -> str:
    """The last assistant text of a finished run (its reasoning, if any, is not the answer)."""
    for message in reversed(messages):
        if message.get("role") == "assistant" and message.get("content") and not message.get("function_call"):
            content = message["content"]
            text = content if isinstance(content, str) else "".join(
                str(part.get("text") or "") for part in content if isinstance(part, dict))
            return THINK_RE.sub("", text).split("</think>")[-1].strip()
    return ""


def run_task(settings: RunSettings, task: AgentTask, folder: Path) -> AgentRun:
    """One task through Qwen-Agent (blocking: call it from a worker thread)."""
    go_offline()
    from qwen_agent.log import logger

    logger.setLevel(logging.WARNING)  # it logs token counts at INFO on every turn (set at its import)
    register_tools()
    run = AgentRun(framework=NAME, task=task.id)
    toolbox = Toolbox(folder)
    calls = [0]
    response: list[Any] = []
    try:
        agent = _agent(settings, toolbox, calls)
        for partial in agent.run([{"role": "user", "content": task.prompt}]):
            response = partial  # each item is the whole response so far; the last one is the run's
    except StepLimitReached:
        run.failure = "step_limit"
    except Exception as exc:  # the framework's own failure is a scored failure of this task
        framework_error(run, exc)
    run.steps = calls[0]
    run.tool_calls, run.tool_errors = toolbox.calls, toolbox.errors
    run.transcript = [{"role": m.get("role"), "function_call": m.get("function_call"),
                       "content": str(m.get("content"))[:300]} for m in response[-10:]]
    if run.failure:
        run.answer = final_text(response)
        return run
    return run.finish(task, final_text(response))


RUNNER = FrameworkRunner(name=NAME, extra="qwen-agent", distributions=("qwen-agent", "soundfile", "openai"),
                         run=run_task, driver="FnCallAgent+oai(nous)+register_tool",
                         load=importer("qwen_agent.agents", "qwen_agent.tools"))
