"""Our in-process MLX figures against mlx-lm's own statistics, on the same model and prompt.

Ours: MLXTarget streamed through ``measure.timing.collect`` (prompt tok/s = prompt tokens / TTFT,
decode tok/s = (output tokens - 1) / (last token time - first token time)).
mlx-lm's: ``stream_generate``'s final GenerationResponse (prompt_tps, generation_tps, peak_memory),
EOS disabled the way ``mlx_lm.benchmark`` does it. Both run the same chat-templated prompt of exactly
``--prompt-tokens`` tokens (a fresh salt per trial), alternating order, after one warm-up each.

Exit status 1 when a median differs by more than ``--tolerance``.

Usage: .venv/bin/python benchmarks/mlx_inproc_vs_mlx_lm.py [--model PATH] [--prompt-tokens 256]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any

from mlx_benchmarks.targets.mlx_blas import blas_description, preload_fast_blas

preload_fast_blas()  # before anything imports mlx.core

from mlx_benchmarks.measure.timing import collect, decode_tps  # noqa: E402
from mlx_benchmarks.targets.base import ChatRequest, now_ns  # noqa: E402
from mlx_benchmarks.targets.mlx_inproc import MLXTarget  # noqa: E402


def request_of(target: MLXTarget, prompt_tokens: int, generation_tokens: int, salt: str) -> ChatRequest:
    """A chat request whose templated prompt is exactly ``prompt_tokens`` tokens."""
    overhead = len(target.prompt_ids(ChatRequest(messages=[{"role": "user", "content": ""}])))
    for size in range(prompt_tokens - overhead, prompt_tokens - overhead - 4, -1):
        content = target.make_prompt(size, salt)
        request = ChatRequest(
            messages=[{"role": "user", "content": content}], max_tokens=generation_tokens, ignore_eos=True
        )
        if len(target.prompt_ids(request)) == prompt_tokens:
            return request
    raise SystemExit(f"could not build a {prompt_tokens}-token chat prompt")


def ours(target: MLXTarget, request: ChatRequest) -> dict[str, float]:
    target.reset_peak_memory()
    completion = asyncio.run(collect(target.stream(request), start_ns=now_ns()))
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens and usage.completion_tokens
    ttft_s = (completion.ttft_ms or 0.0) / 1e3
    times = completion.token_times_ns
    return {
        "prompt_tps": usage.prompt_tokens / ttft_s,
        "generation_tps": decode_tps(usage.completion_tokens, times[0], times[-1]) or 0.0,
        "peak_memory": target.peak_memory_gb() or 0.0,
    }


def theirs(target: MLXTarget, request: ChatRequest) -> dict[str, float]:
    # on the target's generation thread: the same thread as ours, and MLX in one thread only
    result: dict[str, float] = asyncio.run(target.run_in_worker(_theirs, target, request))
    return result


def _theirs(target: MLXTarget, request: ChatRequest) -> dict[str, float]:
    import mlx.core as mx
    from mlx_lm import stream_generate

    model, tokenizer = target.loaded
    prompt = target.prompt_ids(request)
    saved = tokenizer._eos_token_ids
    tokenizer._eos_token_ids = set()  # as mlx_lm.benchmark does, so generation runs to max_tokens
    mx.reset_peak_memory()
    try:
        *_, last = stream_generate(model, tokenizer, prompt, max_tokens=request.max_tokens)
    finally:
        tokenizer._eos_token_ids = saved
    return {
        "prompt_tps": last.prompt_tps,
        "generation_tps": last.generation_tps,
        "peak_memory": last.peak_memory,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="mlx-lm model folder (default: the embedded model, converted)")
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--generation-tokens", type=int, default=64)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--tolerance", type=float, default=0.05)
    args = parser.parse_args()
    if args.model:
        folder = Path(args.model)
    else:
        from mlx_benchmarks.targets.embedded import ensure_embedded_model

        folder = ensure_embedded_model()
    target = MLXTarget(folder)
    asyncio.run(target.start())
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "mlx-lm": []}
    measure: dict[str, Any] = {"ours": ours, "mlx-lm": theirs}
    for trial in range(args.trials + 1):
        order = ["ours", "mlx-lm"] if trial % 2 else ["mlx-lm", "ours"]
        for name in order:
            request = request_of(target, args.prompt_tokens, args.generation_tokens, f"{name}-trial-{trial}")
            result = measure[name](target, request)
            if trial:  # trial 0 warms both paths up
                runs[name].append(result)
    print(f"model {folder} ({target.info.quantization}); {blas_description()}")
    print(
        f"prompt {args.prompt_tokens} tokens, {args.generation_tokens} generated, median of {args.trials} trials"
    )
    print(f"{'metric':16} {'ours':>10} {'mlx-lm':>10} {'diff':>8}")
    failed = False
    for metric in ("prompt_tps", "generation_tps", "peak_memory"):
        a = statistics.median(r[metric] for r in runs["ours"])
        b = statistics.median(r[metric] for r in runs["mlx-lm"])
        diff = (a - b) / b if b else float("nan")
        failed |= abs(diff) > args.tolerance
        print(f"{metric:16} {a:10.3f} {b:10.3f} {diff:+8.1%}")
    print(f"agreement within {args.tolerance:.0%}: {'no' if failed else 'yes'}")
    print(
        f"command: {shlex.join([os.path.relpath(sys.executable), 'benchmarks/mlx_inproc_vs_mlx_lm.py', *sys.argv[1:]])}"
    )
    print(f"cpu cores: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    asyncio.run(target.stop())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
