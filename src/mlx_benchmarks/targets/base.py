"""The target seam: where requests go. One module per kind of target, one registry line each.

A target streams ``Chunk``s, each stamped with ``time.perf_counter_ns()`` the moment it arrived, before
any parsing, so every latency the harness reports comes from one monotonic clock.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

ChunkKind = Literal["role", "content", "reasoning", "tool_call", "usage", "error"]


def now_ns() -> int:
    """The harness clock: monotonic, high resolution."""
    return time.perf_counter_ns()


@dataclass(frozen=True)
class ChatRequest:
    """One chat-completion request, independent of the target's wire format."""

    messages: list[dict[str, Any]]
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    ignore_eos: bool = False
    # reuse the KV state of the previous request's common prefix where the target can (in-process MLX);
    # agent loops ask for it, the speed suites never do (their TTFT must include the whole prefill)
    cache_prompt: bool = False
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """Token counts as the target reports them."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # server-side timings where the server reports them (llama.cpp ``timings``, mlx-lm stats)
    server_prompt_tps: float | None = None
    server_generation_tps: float | None = None
    cached_prompt_tokens: int | None = None  # prompt tokens served from a prefix cache, not prefilled


@dataclass(frozen=True)
class Chunk:
    """One streamed event, stamped on receipt.

    ``kind`` says what it carries. A role-only or empty chunk is ``role`` and never counts as a token.
    ``tool_call`` carries an OpenAI-style delta: ``{"index", "id", "function": {"name", "arguments"}}``.
    """

    t_ns: int
    kind: ChunkKind
    text: str = ""
    tool_call: dict[str, Any] | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    first_byte_ns: int | None = None


@dataclass(frozen=True)
class ExecutionInfo:
    """How the model actually ran, as the target observed it (never guessed); ``None`` means not known.

    Vocabulary (docs/embedded-model.md): ``weights_layout`` is ``q<bits>-g<group>`` for affine-quantized
    weights (``+q8-g32`` appended for modules quantized otherwise), ``<mode>-g<group>`` for other
    quantization modes (``mxfp4-g32``), else the weights' float dtype (``float32``, ``float16``,
    ``bfloat16``); ``device`` is ``gpu`` or ``cpu``; ``compute_dtype`` the dtype activations run in;
    ``blas`` the BLAS library float matmuls bind to, only when the model runs on the CPU.
    """

    weights_layout: str | None = None
    device: str | None = None
    compute_dtype: str | None = None
    blas: str | None = None

    def tags(self) -> dict[str, str]:
        """The known fields as result tags."""
        fields = {"weights_layout": self.weights_layout, "device": self.device,
                  "compute_dtype": self.compute_dtype, "blas": self.blas}
        return {key: value for key, value in fields.items() if value}


@dataclass(frozen=True)
class TargetInfo:
    """What the target knows about itself, for the envelope."""

    kind: str  # "openai-http", "mlx", "embedded", "managed-mlx", ...
    model: str
    quantization: str | None = None
    model_revision: str | None = None
    pid: int | None = None  # process whose memory the sampler watches
    local: bool = True  # one local model loaded at a time
    supports_ignore_eos: bool = False
    supports_tools: bool = True
    details: dict[str, str] = field(default_factory=dict)
    execution: ExecutionInfo | None = None  # known once started (in-process MLX), else None


@dataclass(frozen=True)
class MemoryCounters:
    """A target's own allocator counters in bytes (MLX's peak, active and cache memory)."""

    peak_bytes: int
    active_bytes: int
    cache_bytes: int


@runtime_checkable
class MemoryProbe(Protocol):
    """An optional target capability: its own memory counters. In-process MLX has it; HTTP targets do not."""

    def reset_peak_memory(self) -> None:
        """Start a new peak window (per speed cell, per quality task)."""

    def memory_counters(self) -> MemoryCounters | None:
        """The counters now (peak since the last reset), or None before the model is loaded."""


def memory_probe(target: object) -> MemoryProbe | None:
    """The target as a MemoryProbe where it has one."""
    return target if isinstance(target, MemoryProbe) else None


@runtime_checkable
class Target(Protocol):
    """Anything that turns a ChatRequest into a stream of stamped chunks."""

    info: TargetInfo

    async def start(self) -> None:
        """Connect, load or launch; raise TargetUnavailable when that cannot be done."""

    async def stop(self) -> None:
        """Release everything start() acquired. Safe to call twice."""

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream the answer. Per-request failures raise TargetError subclasses or yield an error chunk."""
        ...

    def count_tokens(self, text: str) -> int | None:
        """Token count by the model's own tokenizer, or None where the target has none."""

    def make_prompt(self, n_tokens: int, salt: str) -> str | None:
        """A text of exactly ``n_tokens`` tokens, unique per ``salt``, or None without a tokenizer."""
