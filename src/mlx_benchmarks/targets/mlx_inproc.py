"""``mlx:PATH``: an mlx-lm model folder run in this process.

Generation runs mlx-lm's ``stream_generate`` on one long-lived worker thread; each token is stamped with the
harness clock on that thread the moment mlx-lm hands it over, then passed to the event loop with
``call_soon_threadsafe``. One generation runs at a time (an asyncio lock), so concurrency above one
queues, as it would on a single-sequence server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from mlx_benchmarks.errors import PrerequisiteError, TargetUnavailable
from mlx_benchmarks.targets.base import ChatRequest, Chunk, MemoryCounters, TargetInfo, Usage, now_ns
from mlx_benchmarks.targets.mlx_blas import blas_description, preload_fast_blas
from mlx_benchmarks.targets.mlx_execution import execution_info, ran_quantization
from mlx_benchmarks.targets.mlx_prefix_cache import PrefixCache
from mlx_benchmarks.targets.mlx_prompt import exact_prompt, held_back_suffix
from mlx_benchmarks.targets.mlx_revision import weights_revision
from mlx_benchmarks.targets.mlx_thread import GenerationThread

MLX_INSTALL_HINT = "the mlx target needs MLX: pip install 'mlx-benchmarks[mlx]'"
_DONE = object()


def quantization_label(config: dict[str, Any]) -> str | None:
    """``mlx-<bits>bit`` from config.json's quantization block, or the weights' dtype when unquantized."""
    block = config.get("quantization") or config.get("quantization_config")
    if isinstance(block, dict) and "bits" in block:
        mode = block.get("mode", "affine")
        return f"mlx-{block['bits']}bit" if mode == "affine" else str(mode)
    dtype = config.get("torch_dtype") or config.get("dtype")
    return str(dtype) if dtype else None


CONTEXT_KEYS = ("max_position_embeddings", "max_sequence_length", "max_seq_len", "seq_length", "n_positions")


def context_length(config: dict[str, Any]) -> int | None:
    """The model's context in tokens, from config.json (the text model's, for a multimodal config)."""
    for source in (config, config.get("text_config") or {}):
        for key in CONTEXT_KEYS:
            value = source.get(key) if isinstance(source, dict) else None
            if isinstance(value, int) and value > 0:
                return value
    return None


def fit_to_context(prompt_tokens: int, max_tokens: int, context: int | None) -> int | str:
    """The max_tokens that fits the context, or why the prompt alone does not fit (as servers refuse it)."""
    if context is None:
        return max_tokens
    if prompt_tokens >= context:
        return f"the prompt is {prompt_tokens} tokens; the model's context is {context}"
    return min(max_tokens, context - prompt_tokens)


def _conversion_details(folder: Path) -> dict[str, str]:
    """What a converted folder's ``conversion.json`` says it was made from, for ``info.details``."""
    try:
        record = json.loads((folder / "conversion.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict):
        return {}
    out = {"weights_layout": str(record.get("layout", ""))}
    if record.get("source"):
        out["converted_from"] = str(record["source"])
    return out


def _import_mlx() -> tuple[Any, Any]:
    preload_fast_blas()
    try:
        import mlx.core as mx
        import mlx_lm
    except ImportError:
        raise PrerequisiteError(MLX_INSTALL_HINT) from None
    return mx, mlx_lm


_SHARED_THREAD: GenerationThread | None = None


class MLXTarget:
    """An mlx-lm model folder in process.

    ``prepare`` runs first in ``start()``, on a thread, and returns the folder to load (the embedded
    model converts itself there on first use).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        model_name: str | None = None,
        kind: str = "mlx",
        quantization: str | None = None,
        model_revision: str | None = None,
        details: dict[str, str] | None = None,
        prepare: Callable[[], Path] | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self._prepare = prepare
        self._quantization = quantization
        self._revision = model_revision
        self.info = TargetInfo(
            kind=kind,
            model=model_name or self.path.name,
            quantization=quantization,
            model_revision=model_revision,
            pid=os.getpid(),
            local=True,
            supports_ignore_eos=True,
            supports_tools=True,
            details=dict(details or {}),
        )
        self._model: Any = None
        self._tokenizer: Any = None
        self._mx: Any = None
        self._prefix: PrefixCache | None = None
        self._context: int | None = None
        self._lock = asyncio.Lock()

    # ----- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the model (in a thread, so the event loop stays responsive)."""
        if self._model is not None:
            return
        if self._prepare is not None:
            # a conversion is MLX work too: keep it on the generation thread
            self.path = await asyncio.wrap_future(self._worker().submit(self._prepare))
        mx, mlx_lm = _import_mlx()
        config_file = self.path / "config.json"
        if not config_file.is_file():
            # checked here: mlx_lm.load would treat a missing path as a Hugging Face repo to download
            raise TargetUnavailable(f"mlx:{self.path} is not an mlx-lm model folder (no config.json there)")
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
            model, tokenizer = await asyncio.wrap_future(self._worker().submit(mlx_lm.load, str(self.path)))
        except (OSError, ValueError, KeyError, ImportError) as exc:
            raise TargetUnavailable(f"mlx:{self.path} could not be loaded: {exc}") from None
        self._mx, self._model, self._tokenizer = mx, model, tokenizer
        self._context = context_length(config)
        from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache

        self._prefix = PrefixCache(lambda: make_prompt_cache(model), can_trim_prompt_cache, trim_prompt_cache)
        revision = self._revision or await asyncio.to_thread(weights_revision, self.path)
        execution = await asyncio.wrap_future(self._worker().submit(execution_info, mx, model, config))
        converted = _conversion_details(self.path)
        details = {
            **self.info.details,
            "device": str(mx.default_device()),
            "blas": blas_description(),
            "model_type": str(config.get("model_type", "")),
            "context_length": str(self._context or "unknown"),
            **converted,
        }
        self.info = dataclasses.replace(
            self.info,
            # a quantized file dequantized at conversion did not run quantized: the label says so
            quantization=ran_quantization(self._quantization, converted.get("weights_layout"))
            or quantization_label(config),
            model_revision=revision,
            details=details,
            execution=execution,
        )

    def _worker(self) -> GenerationThread:
        # One long-lived thread loads and generates: a fresh thread per request measured 13% slower
        # prompt processing (per-thread BLAS and MLX set-up paid inside every TTFT). It is shared by
        # every MLXTarget of the process, so MLX work stays on one thread.
        global _SHARED_THREAD
        if _SHARED_THREAD is None:
            _SHARED_THREAD = GenerationThread()
        return _SHARED_THREAD

    async def run_in_worker(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` on the generation thread (side-by-side checks against mlx-lm itself).

        MLX work from several threads of one process can abort it at exit, so outside code that
        generates with this target's model should run here.
        """
        return await asyncio.wrap_future(self._worker().submit(function, *args))

    async def stop(self) -> None:
        """Drop the model and give MLX's buffer cache back."""
        async with self._lock:
            self._model = None
            self._tokenizer = None
            self._prefix = None
            # the generation thread stays (idle, daemon): a thread that ran MLX work and exits
            # before the process does was measured to abort the process at exit now and then
            if self._mx is not None:
                self._mx.clear_cache()

    @property
    def context_tokens(self) -> int | None:
        """The model's context length from its config.json (None before start() or when unstated)."""
        return self._context

    @property
    def loaded(self) -> tuple[Any, Any]:
        """The mlx-lm model and tokenizer wrapper (for side-by-side checks against mlx-lm itself)."""
        if self._model is None:
            raise TargetUnavailable(f"mlx:{self.path} is not started: call start() first")
        return self._model, self._tokenizer

    # ----- tokenizer ---------------------------------------------------------------------------------
    def _require_tokenizer(self) -> Any:
        if self._tokenizer is None:
            raise TargetUnavailable(f"mlx:{self.path} is not started: call start() first")
        return self._tokenizer

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""
        ids: list[int] = self._require_tokenizer().encode(text, add_special_tokens=False)
        return ids

    def decode(self, ids: list[int]) -> str:
        """Text of token ids."""
        text: str = self._require_tokenizer().decode(ids)
        return text

    def count_tokens(self, text: str) -> int | None:
        """Token count by the model's tokenizer (no special tokens added)."""
        return len(self.encode(text))

    def make_prompt(self, n_tokens: int, salt: str) -> str | None:
        """A text of exactly ``n_tokens`` tokens that starts with ``salt`` (see ``mlx_prompt``)."""
        return exact_prompt(self.encode, self.decode, n_tokens, salt)

    def prompt_ids(self, request: ChatRequest) -> list[int]:
        """The chat-templated prompt of ``request`` as token ids."""
        tokenizer = self._require_tokenizer()
        kwargs: dict[str, Any] = {"add_generation_prompt": True, "tokenize": False}
        if request.tools:
            kwargs["tools"] = request.tools
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(request.messages, **kwargs)
        else:
            # a base model without a template: plain concatenation, as mlx-lm's server does
            text = "".join(str(m.get("content") or "") for m in request.messages)
        bos = getattr(tokenizer, "bos_token", None)
        add_special = bos is None or not text.startswith(bos)
        ids: list[int] = tokenizer.encode(text, add_special_tokens=add_special)
        return ids

    # ----- memory ---------------------------------------------------------------------------------------
    def peak_memory_gb(self) -> float | None:
        """MLX's peak allocated memory since load or the last reset, in GB (10^9 bytes, as mlx-lm)."""
        return None if self._mx is None else float(self._mx.get_peak_memory()) / 1e9

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory window."""
        if self._mx is not None:
            self._mx.reset_peak_memory()

    def memory_counters(self) -> MemoryCounters | None:
        """MLX's allocator counters (the ``MemoryProbe`` capability): peak since the last reset, active, cache.

        Reading them is a bookkeeping call on MLX's allocator, not MLX work, so any thread may ask.
        """
        if self._mx is None:
            return None
        mx = self._mx
        return MemoryCounters(peak_bytes=int(mx.get_peak_memory()), active_bytes=int(mx.get_active_memory()),
                              cache_bytes=int(mx.get_cache_memory()))

    # ----- generation -----------------------------------------------------------------------------------
    def _generate_kwargs(self, request: ChatRequest) -> dict[str, Any]:
        from mlx_lm.sample_utils import make_sampler

        sampler = make_sampler(
            temp=request.temperature or 0.0, top_p=request.top_p or 0.0, top_k=request.top_k or 0
        )
        kwargs: dict[str, Any] = {"sampler": sampler}
        if request.ignore_eos:
            eos_ids = sorted(self._require_tokenizer().eos_token_ids)
            mx = self._mx

            def mask_eos(tokens: Any, logits: Any) -> Any:
                # EOS can never be sampled, so generation runs to max_tokens
                del tokens
                logits[..., eos_ids] = -mx.inf
                return logits

            kwargs["logits_processors"] = [mask_eos]
        return kwargs

    def _run(
        self,
        prompt: list[int],
        request: ChatRequest,
        emit: Callable[[object], None],
        cancel: threading.Event,
    ) -> None:
        """Worker thread: generate, stamp each token as it is produced, hand chunks to ``emit``."""
        from mlx_lm import stream_generate

        generator: Any = None
        prefix = self._prefix if request.cache_prompt else None
        cache: list[Any] | None = None
        generated: list[int] = []
        finished = False
        try:
            if request.seed is not None:
                self._mx.random.seed(request.seed)
            kwargs = self._generate_kwargs(request)
            stops = [s for s in (request.stop or []) if s]
            text, sent, tokens = "", 0, 0
            finish: str | None = None
            last: Any = None
            if self._prefix is not None and prefix is None:
                self._prefix.clear()  # an uncached request: no stale KV state held, none reused later
            cache, reused = prefix.take(prompt) if prefix is not None else (None, 0)
            generator = stream_generate(
                self._model, self._tokenizer, prompt[reused:], max_tokens=request.max_tokens,
                prompt_cache=cache, **kwargs
            )
            for response in generator:
                t_ns = now_ns()
                last = response
                generated.append(int(response.token))
                # after EOS mlx-lm yields the EOS token once more with the detokenizer's tail: not a token
                if response.finish_reason != "stop":
                    tokens += 1
                text += response.text
                # emitted text never ends in a stop prefix, so a stop can only start at or after `sent`
                found = [i for i in (text.find(s, sent) for s in stops) if i >= 0]
                if found:
                    text, finish = text[: min(found)], "stop"
                hold = 0 if finish or response.finish_reason else held_back_suffix(text, stops)
                if len(text) - hold > sent:
                    emit(Chunk(t_ns=t_ns, kind="content", text=text[sent : len(text) - hold]))
                    sent = len(text) - hold
                if finish or cancel.is_set():
                    break
                finish = response.finish_reason
            usage = Usage(
                prompt_tokens=len(prompt),
                completion_tokens=tokens,
                server_prompt_tps=None if last is None else float(last.prompt_tps),
                server_generation_tps=None if last is None else float(last.generation_tps),
                cached_prompt_tokens=reused if prefix is not None else None,
            )
            emit(Chunk(t_ns=now_ns(), kind="usage", usage=usage, finish_reason=finish or "length"))
            finished = True
        except Exception as exc:  # becomes an error chunk on the event loop
            emit(exc)
        finally:
            if generator is not None:
                generator.close()
            if prefix is not None and cache is not None and finished:
                prefix.keep(cache, prompt + generated)  # a failed generation's cache is dropped
            emit(_DONE)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Generate the answer; chunks carry the worker thread's timestamps."""
        if self._model is None:
            raise TargetUnavailable(f"mlx:{self.path} is not started: call start() first")
        if request.max_tokens < 1:
            yield Chunk(t_ns=now_ns(), kind="error", text="max_tokens must be at least 1 for the mlx target")
            return
        loop = asyncio.get_running_loop()
        async with self._lock:
            prompt = self.prompt_ids(request)
            fitted = fit_to_context(len(prompt), request.max_tokens, self._context)
            if isinstance(fitted, str):
                # generating past the trained positions gives garbage, not a measurement: refuse, as servers do
                yield Chunk(t_ns=now_ns(), kind="error", text=fitted)
                return
            if fitted != request.max_tokens:
                request = dataclasses.replace(request, max_tokens=fitted)  # ends with finish_reason "length"
            queue: asyncio.Queue[object] = asyncio.Queue()
            cancel = threading.Event()

            def emit(item: object) -> None:
                loop.call_soon_threadsafe(queue.put_nowait, item)

            worker = asyncio.wrap_future(self._worker().submit(self._run, prompt, request, emit, cancel, cancel=cancel))
            try:
                while (item := await queue.get()) is not _DONE:
                    if isinstance(item, Exception):
                        # one request failed (a prompt longer than the context, say): data, not a crash
                        yield Chunk(t_ns=now_ns(), kind="error", text=f"mlx generation failed: {item}")
                        continue
                    assert isinstance(item, Chunk)
                    yield item
            finally:
                cancel.set()
                await worker
