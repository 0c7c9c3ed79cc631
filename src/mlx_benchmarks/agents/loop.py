"""The baseline agent: a plain OpenAI tool-calling loop over a Target, no framework.

messages -> model -> tool calls -> tool results -> model ... until the model answers without a call or the
step cap is hit (a looping model is a scored failure, ``step_limit``). A tool that raises returns its error
text to the model and is counted. Calls written in the text (Hermes tags, Llama 3 JSON) are honoured too; a
target whose template cannot render tools gets them in a Hermes-style system prompt and tool results as
``<tool_response>`` user turns.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from mlx_benchmarks.agents.tasks import SYSTEM_PROMPT, AgentTask, check_answer
from mlx_benchmarks.agents.tools import Toolbox
from mlx_benchmarks.errors import TargetError
from mlx_benchmarks.measure.timing import Completion, collect
from mlx_benchmarks.scoring.tool_parsers import ParsedCall, extract_calls
from mlx_benchmarks.scoring.tool_schema import renders_tools
from mlx_benchmarks.targets.base import ChatRequest, Target, now_ns
from mlx_benchmarks.targets.retry import Retrying, retrying

THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)  # reasoning is not the answer
HERMES_TOOLS_PROMPT = (
    "You may call functions. The available functions are within <tools></tools>: <tools>{tools}</tools>\n"
    'To call one, reply with <tool_call>{{"name": <function-name>, "arguments": <args-dict>}}</tool_call>.'
)


@dataclass
class AgentRun:
    """How one framework did on one task."""

    framework: str
    task: str
    success: bool = False
    failure: str | None = None  # step_limit, wrong_answer, no_answer, target_error, framework_error
    answer: str = ""
    steps: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0  # prompt tokens a prefix cache served (in-process MLX keeps the conversation)
    retries: int = 0  # requests retried after 429/503, a reset or an idle stream (targets/retry.py)
    latency_s: float = 0.0
    error: str | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def finish(self, task: AgentTask, answer: str) -> AgentRun:
        self.answer = answer
        self.success = check_answer(task, answer)
        if not self.success:
            self.failure = "wrong_answer" if answer.strip() else "no_answer"
        return self

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _assistant_message(text: str, calls: list[ParsedCall], step: int, native: bool) -> dict[str, Any]:
    if not native or (calls and calls[0].path != "native"):
        return {"role": "assistant", "content": text}
    return {"role": "assistant", "content": text or None, "tool_calls": [
        {"id": f"call_{step}_{i}", "type": "function",
         "function": {"name": c.name, "arguments": json.dumps(c.arguments) if c.json_valid else c.raw_arguments}}
        for i, c in enumerate(calls)]}


def _first_messages(task: AgentTask, native: bool) -> list[dict[str, Any]]:
    system = SYSTEM_PROMPT
    if not native:
        system += "\n\n" + HERMES_TOOLS_PROMPT.format(tools=json.dumps(Toolbox.openai_tools()))
    return [{"role": "system", "content": system}, {"role": "user", "content": task.prompt}]


async def run_baseline(target: Target, task: AgentTask, *, max_steps: int = 8, max_tokens: int = 512,
                       seed: int | None = None, max_retries: int | None = None) -> AgentRun:
    """Run one task to its end (answer, step cap, or target failure)."""
    run = AgentRun(framework="baseline", task=task.id)
    native = renders_tools(target)
    started = now_ns()
    with tempfile.TemporaryDirectory(prefix="mlx-bench-agent-") as tmp:
        folder = Path(tmp)
        task.write_files(folder)
        toolbox = Toolbox(folder)
        messages = _first_messages(task, native)
        try:
            await _loop(target, task, run, toolbox, messages, native, max_steps, max_tokens, seed, retrying(max_retries))
        finally:
            run.tool_calls, run.tool_errors = toolbox.calls, toolbox.errors
            run.latency_s = (now_ns() - started) / 1e9
    return run


async def _loop(target: Target, task: AgentTask, run: AgentRun, toolbox: Toolbox, messages: list[dict[str, Any]],
                native: bool, max_steps: int, max_tokens: int, seed: int | None, retry: Retrying) -> None:
    for step in range(1, max_steps + 1):
        run.steps = step
        request = ChatRequest(messages=list(messages), max_tokens=max_tokens, temperature=0.0, seed=seed,
                              tools=Toolbox.openai_tools() if native else None, tool_choice="auto" if native else None,
                              cache_prompt=True)
        try:
            completion = await retry(partial(_ask, target, request))
        except (TargetError, OSError, TimeoutError) as exc:
            run.failure, run.error = "target_error", f"{type(exc).__name__}: {exc}"[:300]
            return
        finally:
            run.retries = retry.count
        if completion.usage is not None:
            run.prompt_tokens += completion.usage.prompt_tokens or 0
            run.completion_tokens += completion.usage.completion_tokens or 0
            run.cached_prompt_tokens += completion.usage.cached_prompt_tokens or 0
        if completion.error:
            run.failure, run.error = "target_error", completion.error[:300]
            return
        text = THINK_RE.sub("", completion.text).split("</think>")[-1].strip()
        calls = extract_calls(text, completion.tool_calls)
        run.transcript.append({"step": step, "text": text[:500], "calls": [c.to_json() for c in calls]})
        if not calls:
            run.finish(task, text)
            return
        messages.append(_assistant_message(text, calls, step, native))
        for index, call in enumerate(calls):
            result = toolbox.run(call.name, call.arguments)
            if native and call.path == "native":
                messages.append({"role": "tool", "tool_call_id": f"call_{step}_{index}", "content": result})
            else:
                messages.append({"role": "user", "content": f"<tool_response>\n{result}\n</tool_response>"})
    run.failure = "step_limit"


async def _ask(target: Target, request: ChatRequest) -> Completion:
    return await collect(target.stream(request))
