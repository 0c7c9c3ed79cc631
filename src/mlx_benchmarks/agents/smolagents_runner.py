"""smolagents as an optional framework: its ``ToolCallingAgent`` with ``OpenAIServerModel`` pointed at the
loopback adapter (``openai_adapter``), so the framework talks to our Target through its own client.

No ``from __future__ import annotations`` here: smolagents reads the tool functions' annotations at run time.
"""

import importlib.util
from pathlib import Path
from typing import Any

from mlx_benchmarks.agents.loop import AgentRun
from mlx_benchmarks.agents.tasks import AgentTask
from mlx_benchmarks.agents.tools import Toolbox

NAME = "smolagents"
INSTALL_HINT = "pip install smolagents openai"


def missing() -> str | None:
    """Why smolagents cannot run here, or None when it can."""
    absent = [m for m in ("smolagents", "openai") if importlib.util.find_spec(m) is None]
    return f"not installed ({', '.join(absent)}): {INSTALL_HINT}" if absent else None


def make_tools(toolbox: Toolbox) -> list[Any]:
    """Our deterministic tools as smolagents tools, every call going through the counting toolbox."""
    from smolagents import tool

    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression, e.g. '(2 + 3) * sqrt(16)'.

        Args:
            expression: the arithmetic expression
        """
        return toolbox.run("calculator", {"expression": expression})

    def convert_units(value: float, from_unit: str, to_unit: str) -> str:
        """Convert a value between units of length (m, km, cm, mm, mi, ft, in), mass (kg, g, lb, oz),
        volume (l, ml, gal) or temperature (c, f, k).

        Args:
            value: the amount
            from_unit: unit of the value
            to_unit: unit wanted
        """
        return toolbox.run("convert_units", {"value": value, "from_unit": from_unit, "to_unit": to_unit})

    def lookup(table: str, key: str) -> str:
        """Look up one row of a table: 'countries' (capital, population_millions, currency), 'elements'
        (symbol, atomic_number, atomic_mass) or 'products' (price, stock).

        Args:
            table: the table name
            key: the row name
        """
        return toolbox.run("lookup", {"table": table, "key": key})

    def read_file(name: str) -> str:
        """Read a text file from the working folder.

        Args:
            name: the file name
        """
        return toolbox.run("read_file", {"name": name})

    # tool() reads each function's signature and docstring (Args:) to describe it to the model
    return [tool(f) for f in (calculator, convert_units, lookup, read_file)]


def run_task(base_url: str, model_id: str, task: AgentTask, folder: Path, *, max_steps: int,
             max_tokens: int, timeout_s: float) -> AgentRun:
    """One task through smolagents (blocking: call it from a worker thread)."""
    from smolagents import ActionStep, OpenAIServerModel, ToolCallingAgent

    run = AgentRun(framework=NAME, task=task.id)
    toolbox = Toolbox(folder)
    model = OpenAIServerModel(model_id=model_id, api_base=base_url, api_key="loopback-adapter",
                              client_kwargs={"max_retries": 0, "timeout": timeout_s},
                              temperature=0.0, max_tokens=max_tokens)
    agent = ToolCallingAgent(tools=make_tools(toolbox), model=model, max_steps=max_steps, verbosity_level=-1)
    try:
        result = agent.run(task.prompt, return_full_result=True)
    except Exception as exc:  # the framework's own failure is a scored failure of this task
        run.failure, run.error = "framework_error", f"{type(exc).__name__}: {exc}"[:300]
        result = None
    run.steps = sum(1 for step in agent.memory.steps if isinstance(step, ActionStep))
    run.tool_calls, run.tool_errors = toolbox.calls, toolbox.errors
    if result is None:
        return run
    if result.state == "max_steps_error":
        run.answer, run.failure = str(result.output or ""), "step_limit"
        return run
    return run.finish(task, "" if result.output is None else str(result.output))
