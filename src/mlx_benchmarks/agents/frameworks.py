"""What every optional agent framework runner shares: its description, the install check, the versions it
records, and the environment that keeps it offline.

A runner is one module (``smolagents_runner``, ``qwen_agent_runner``, ``adk_runner``, ``langgraph_runner``)
that imports its framework only inside ``run`` and exposes one ``FrameworkRunner``; ``framework-eval`` lists
them in its registry. ``run`` is blocking (the suite calls it from a worker thread while its own event loop
serves the loopback adapter the framework talks to).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlx_benchmarks.agents.loop import AgentRun
from mlx_benchmarks.agents.tasks import AgentTask

# Set before a framework is imported, for users as much as for tests: nothing of a run may leave the machine.
OFFLINE_ENVIRONMENT = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # LiteLLM fetches its model-cost map from GitHub at import otherwise
    "LANGSMITH_TRACING": "false",  # LangChain/LangGraph send traces to LangSmith when these say true
    "LANGSMITH_TRACING_V2": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
    "OTEL_SDK_DISABLED": "true",  # ADK traces through OpenTelemetry; no exporter may be configured from outside
}


def go_offline() -> None:
    """Switch off every fetch and telemetry channel the frameworks know of (process-wide, before import)."""
    os.environ.update(OFFLINE_ENVIRONMENT)


@dataclass(frozen=True)
class RunSettings:
    """How one task runs: the loopback endpoint and model name, caps, and the client timeout."""

    base_url: str
    model: str
    max_steps: int
    max_tokens: int
    timeout_s: float
    seed: int | None = None


class TaskFunction(Protocol):
    def __call__(self, settings: RunSettings, task: AgentTask, folder: Path) -> AgentRun: ...


def importer(*modules: str) -> Callable[[], None]:
    """A ``load`` that goes offline, then imports the framework's modules (so no task's time includes it)."""

    def load() -> None:
        go_offline()
        for module in modules:
            importlib.import_module(module)

    return load


@dataclass(frozen=True)
class FrameworkRunner:
    """One agent framework: its result name, the extra that installs it, and how to run one task."""

    name: str
    extra: str  # pip install 'mlx-benchmarks[EXTRA]'
    distributions: tuple[str, ...]  # the first is the framework itself; all are recorded with their versions
    run: TaskFunction
    driver: str  # how the framework is driven, recorded as a tag
    load: Callable[[], None]  # imports the framework once, before the first task's clock starts

    def missing(self) -> list[str]:
        """The distributions that are not installed (empty when the framework can run)."""
        absent = []
        for dist in self.distributions:
            try:
                importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                absent.append(dist)
        return absent

    def install_hint(self) -> str:
        return f"pip install 'mlx-benchmarks[{self.extra}]'"

    def versions(self) -> dict[str, str]:
        """``{distribution: version}`` of what ran, for the result's tags."""
        return {dist: importlib.metadata.version(dist) for dist in self.distributions}


def framework_error(run: AgentRun, exc: BaseException) -> AgentRun:
    """The framework's own failure, as a scored failure of the task (never a crash of the run)."""
    run.failure, run.error = "framework_error", f"{type(exc).__name__}: {exc}"[:300]
    return run
