"""smolagents: its ``ToolCallingAgent`` with ``OpenAIServerModel`` pointed at the loopback adapter
(``openai_adapter``), so the framework talks to our Target through its own client (as the seed's
``eval_smolagents.py`` drives it)."""

from __future__ import annotations

from pathlib import Path

from mlx_benchmarks.agents.frameworks import (
    FrameworkRunner,
    RunSettings,
    framework_error,
    go_offline,
    importer,
)
from mlx_benchmarks.agents.loop import AgentRun
from mlx_benchmarks.agents.tasks import AgentTask
from mlx_benchmarks.agents.tool_functions import tool_functions
from mlx_benchmarks.agents.tools import Toolbox

NAME = "smolagents"


def run_task(settings: RunSettings, task: AgentTask, folder: Path) -> AgentRun:
    """One task through smolagents (blocking: call it from a worker thread)."""
    go_offline()
    from smolagents import ActionStep, OpenAIServerModel, ToolCallingAgent, tool

    run = AgentRun(framework=NAME, task=task.id)
    toolbox = Toolbox(folder)
    model = OpenAIServerModel(model_id=settings.model, api_base=settings.base_url, api_key="loopback-adapter",
                              client_kwargs={"max_retries": 0, "timeout": settings.timeout_s},
                              temperature=0.0, max_tokens=settings.max_tokens)
    # tool() reads each function's signature and docstring (Args:) to describe it to the model
    agent = ToolCallingAgent(tools=[tool(f) for f in tool_functions(toolbox)], model=model,
                             max_steps=settings.max_steps, verbosity_level=-1)
    try:
        result = agent.run(task.prompt, return_full_result=True)
    except Exception as exc:  # the framework's own failure is a scored failure of this task
        framework_error(run, exc)
        result = None
    run.steps = sum(1 for step in agent.memory.steps if isinstance(step, ActionStep))
    run.tool_calls, run.tool_errors = toolbox.calls, toolbox.errors
    if result is None:
        return run
    if result.state == "max_steps_error":
        run.answer, run.failure = str(result.output or ""), "step_limit"
        return run
    return run.finish(task, "" if result.output is None else str(result.output))


RUNNER = FrameworkRunner(name=NAME, extra="agents", distributions=("smolagents", "openai"), run=run_task,
                         driver="ToolCallingAgent+OpenAIServerModel",
                         load=importer("smolagents"))
