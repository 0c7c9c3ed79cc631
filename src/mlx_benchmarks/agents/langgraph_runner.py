"""LangGraph: the ReAct graph built from LangGraph's own parts (a ``StateGraph`` over ``MessagesState`` with
an agent node, a prebuilt ``ToolNode`` and ``tools_condition``), the model being langchain-openai's
``ChatOpenAI`` at the loopback adapter.

The graph is built by hand because ``langgraph.prebuilt.create_react_agent`` is deprecated in LangGraph 1.x
(for ``langchain.agents.create_agent``, another package); the graph is the one it builds. The tools are
``StructuredTool``s with our JSON schemas as ``args_schema``, so the model sees what the baseline sends.
``--max-steps`` becomes LangGraph's ``recursion_limit`` (two graph steps per model turn with tool calls).
"""

from __future__ import annotations

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

NAME = "langgraph"


def _tools(toolbox: Toolbox) -> list[Any]:
    from langchain_core.tools import StructuredTool

    def bound(name: str) -> Any:
        def call(**arguments: Any) -> str:
            return toolbox.run(name, arguments)
        return call

    return [StructuredTool.from_function(bound(spec["name"]), name=spec["name"], description=spec["description"],
                                         args_schema=spec["parameters"]) for spec in SPECS]


def _graph(settings: RunSettings, toolbox: Toolbox, run: AgentRun) -> Any:
    from langchain_openai import ChatOpenAI
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    tools = _tools(toolbox)
    model = ChatOpenAI(model=settings.model, base_url=settings.base_url, api_key="loopback-adapter",  # type: ignore[arg-type]
                       temperature=0.0, max_tokens=settings.max_tokens, max_retries=0,  # type: ignore[call-arg]
                       timeout=settings.timeout_s, seed=settings.seed).bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        run.steps += 1
        reply = model.invoke(state["messages"])
        run.transcript.append({"step": run.steps, "text": str(reply.content)[:500],
                               "calls": [{"name": c["name"], "arguments": c["args"]}
                                         for c in getattr(reply, "tool_calls", [])]})
        return {"messages": [reply]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile()


def run_task(settings: RunSettings, task: AgentTask, folder: Path) -> AgentRun:
    """One task through LangGraph (blocking: call it from a worker thread)."""
    go_offline()
    from langgraph.errors import GraphRecursionError

    run = AgentRun(framework=NAME, task=task.id)
    toolbox = Toolbox(folder)
    state: dict[str, Any] = {}
    try:
        graph = _graph(settings, toolbox, run)
        # model turn k is graph step 2k-1 and its tools step 2k: the limit admits max_steps turns and their tools
        state = graph.invoke({"messages": [("system", SYSTEM_PROMPT), ("user", task.prompt)]},
                             {"recursion_limit": 2 * settings.max_steps})
    except GraphRecursionError:
        run.failure = "step_limit"
    except Exception as exc:  # the framework's own failure is a scored failure of this task
        framework_error(run, exc)
    run.tool_calls, run.tool_errors = toolbox.calls, toolbox.errors
    if run.failure:
        return run
    last = state["messages"][-1]
    text = last.content if isinstance(last.content, str) else "".join(
        str(p.get("text", "")) for p in last.content if isinstance(p, dict))
    return run.finish(task, THINK_RE.sub("", text).split("</think>")[-1].strip())


RUNNER = FrameworkRunner(name=NAME, extra="langgraph", distributions=("langgraph", "langchain-openai"),
                         run=run_task, driver="StateGraph+ToolNode+ChatOpenAI",
                         load=importer("langchain_openai", "langgraph.graph", "langgraph.prebuilt"))
