"""Google ADK: an ``Agent`` on ``LiteLlm`` (``openai/<model>`` at the loopback adapter), run by an
``InMemoryRunner`` in one in-memory session, as the seed's ``eval_google_adk.py`` drives it.

ADK is asynchronous; each task runs in its own event loop in the worker thread (``asyncio.run``), as the
seed does. The tools are plain typed functions (``tool_functions``); ADK builds their declarations from the
signatures and docstrings, and LiteLLM sends them as OpenAI ``tools``. ``--max-steps`` is ADK's own
``RunConfig.max_llm_calls``.
"""

from __future__ import annotations

import asyncio
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
from mlx_benchmarks.agents.tool_functions import tool_functions
from mlx_benchmarks.agents.tools import Toolbox

NAME = "google-adk"
APP, USER = "mlx-bench", "mlx-bench-user"


def _agent(settings: RunSettings, toolbox: Toolbox, run: AgentRun) -> Any:
    import litellm
    from google.adk.agents import Agent
    from google.adk.models.lite_llm import LiteLlm
    from google.genai import types

    litellm.suppress_debug_info = True  # its "Give Feedback / Get Help" banner on every failed call
    model = LiteLlm(model=f"openai/{settings.model}", api_base=settings.base_url, api_key="loopback-adapter",
                    timeout=settings.timeout_s, num_retries=0, max_retries=0,
                    **({"seed": settings.seed} if settings.seed is not None else {}))
    config = types.GenerateContentConfig(temperature=0.0, max_output_tokens=settings.max_tokens)

    def count_turn(callback_context: Any, llm_request: Any) -> None:
        # a turn counts when it is attempted (a failed request too); the call that max_llm_calls then refuses
        # passes here first, hence the cap
        run.steps = min(run.steps + 1, settings.max_steps)
        return None

    return Agent(name="mlx_bench_agent", model=model, instruction=SYSTEM_PROMPT, tools=[*tool_functions(toolbox)],
                 generate_content_config=config, before_model_callback=count_turn)


async def _run(settings: RunSettings, task: AgentTask, toolbox: Toolbox, run: AgentRun) -> str:
    from google.adk.agents.invocation_context import LlmCallsLimitExceededError
    from google.adk.agents.run_config import RunConfig
    from google.adk.runners import InMemoryRunner
    from google.genai import types

    runner = InMemoryRunner(agent=_agent(settings, toolbox, run), app_name=APP)
    answer = ""
    try:
        session = await runner.session_service.create_session(app_name=APP, user_id=USER)
        message = types.Content(role="user", parts=[types.Part(text=task.prompt)])
        events = runner.run_async(user_id=USER, session_id=session.id, new_message=message,
                                  run_config=RunConfig(max_llm_calls=settings.max_steps))
        async for event in events:
            if event.author != "mlx_bench_agent" or event.partial or event.get_function_responses():
                continue  # the tools' results are events of the agent too
            text = "".join(p.text for p in (event.content.parts if event.content else None) or [] if p.text)
            calls = event.get_function_calls()
            if text or calls:
                run.transcript.append({"text": text[:500],
                                       "calls": [{"name": c.name, "arguments": c.args} for c in calls]})
            if text and not calls:
                answer = text
    except LlmCallsLimitExceededError:
        run.failure = "step_limit"
    finally:
        await runner.close()
    return THINK_RE.sub("", answer).split("</think>")[-1].strip()


def run_task(settings: RunSettings, task: AgentTask, folder: Path) -> AgentRun:
    """One task through Google ADK (blocking: call it from a worker thread)."""
    go_offline()
    run = AgentRun(framework=NAME, task=task.id)
    toolbox = Toolbox(folder)
    try:
        answer = asyncio.run(_run(settings, task, toolbox, run))
    except Exception as exc:  # the framework's own failure is a scored failure of this task
        framework_error(run, exc)
        answer = None
    run.tool_calls, run.tool_errors = toolbox.calls, toolbox.errors
    if answer is None or run.failure:
        return run
    return run.finish(task, answer)


RUNNER = FrameworkRunner(name=NAME, extra="adk", distributions=("google-adk", "litellm"), run=run_task,
                         driver="Agent+LiteLlm(openai/)+InMemoryRunner",
                         load=importer("litellm", "google.adk.models.lite_llm", "google.adk.runners"))
