"""What the in-process prefix cache saves an agent: TTFT of each turn of a growing conversation, with and
without ``ChatRequest.cache_prompt``, on the embedded model.

The conversation is what framework-eval sends: a long system prompt (smolagents' with our four tools is
~1,700 tokens; here ``--system-tokens`` of filler), then per turn the model's answer and a tool result. Each
way runs the same turns in turn order; both print TTFT per turn and the prompt tokens served from the cache.

Usage: .venv/bin/python benchmarks/agent_prefix_cache.py [--system-tokens 1700] [--turns 5] [--gen-tokens 32]
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys

from mlx_benchmarks.targets.mlx_blas import blas_description, preload_fast_blas

preload_fast_blas()  # before anything imports mlx.core

from mlx_benchmarks.measure.timing import collect  # noqa: E402
from mlx_benchmarks.targets.base import ChatRequest, now_ns  # noqa: E402
from mlx_benchmarks.targets.embedded import embedded_target  # noqa: E402


async def conversation(target: object, system: str, turns: int, gen: int, cached: bool) -> list[tuple[float, int]]:
    """(TTFT ms, cached prompt tokens) per turn."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "Convert 26.2 miles to km."}]
    out = []
    for turn in range(turns):
        request = ChatRequest(messages=list(messages), max_tokens=gen, cache_prompt=cached)
        completion = await collect(target.stream(request), start_ns=now_ns())  # type: ignore[attr-defined]
        assert completion.ok and completion.ttft_ms is not None, completion.error
        reused = completion.usage.cached_prompt_tokens if completion.usage else None
        out.append((completion.ttft_ms, reused or 0))
        messages += [{"role": "assistant", "content": completion.text},
                     {"role": "user", "content": f"<tool_response>\nresult {turn}: 42.16 km\n</tool_response>"}]
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system-tokens", type=int, default=1700)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--gen-tokens", type=int, default=32)
    args = parser.parse_args()
    target = embedded_target()
    await target.start()
    try:
        system = target.make_prompt(args.system_tokens, "agent-system-prompt") or "word " * args.system_tokens
        await conversation(target, "warm-up " + system[:200], 1, 4, cached=False)
        fresh = await conversation(target, system, args.turns, args.gen_tokens, cached=False)
        reused = await conversation(target, system, args.turns, args.gen_tokens, cached=True)
    finally:
        await target.stop()
    print(f"$ python {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"model: {target.info.model} ({target.info.details.get('weights_layout', '')}, {blas_description()})")
    print("turn | TTFT ms, full prefill | TTFT ms, prefix cache | prompt tokens from the cache")
    for turn, ((a, _), (b, n)) in enumerate(zip(fresh, reused, strict=True), 1):
        print(f"{turn:4d} | {a:21.0f} | {b:21.0f} | {n}")
    total_a, total_b = sum(a for a, _ in fresh), sum(b for b, _ in reused)
    print(f"sum  | {total_a:21.0f} | {total_b:21.0f} | saved {100 * (1 - total_b / total_a):.0f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
