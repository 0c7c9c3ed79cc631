"""BLAS and weight-layout options for the embedded model on MLX's CPU backend.

Each option runs in a fresh child process, because a fast BLAS can only be preloaded before
``mlx.core`` is imported (see ``mlx_benchmarks.targets.mlx_blas``). For each option it prints:
- a float32 matmul's GFLOP/s (128 x 576 @ 576 x 1536, the model's FFN shape)
- the embedded model's prompt and decode tok/s (mlx-lm's own GenerationResponse figures)
- MLX peak memory, and whether the greedy answer to the Paris question still names Paris
- the one-time conversion time of that layout

Usage: .venv/bin/python benchmarks/blas_options.py [--prompt-tokens 128] [--generation-tokens 32]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def child(args: argparse.Namespace) -> None:
    """Measure one option in this process and print one JSON line."""
    from mlx_benchmarks.targets.mlx_blas import blas_description, preload_fast_blas

    preload_fast_blas()
    import mlx.core as mx
    from mlx_lm import load, stream_generate

    from mlx_benchmarks.targets.embedded import embedded_gguf_path, ensure_embedded_model
    from mlx_benchmarks.targets.gguf_convert import convert_gguf

    conversion_s = None
    if args.time_conversion:
        # a fresh conversion into a scratch folder: what a first run pays once
        with tempfile.TemporaryDirectory() as scratch:
            tic = time.perf_counter()
            convert_gguf(embedded_gguf_path(), Path(scratch) / "model", layout=args.layout)
            conversion_s = time.perf_counter() - tic
    folder = ensure_embedded_model(layout=args.layout)

    a = mx.random.normal((128, 576), key=mx.random.key(0))
    b = mx.random.normal((1536, 576), key=mx.random.key(1))
    mx.eval(a @ b.T)
    tic = time.perf_counter()
    for _ in range(5):
        mx.eval(a @ b.T)
    gflops = 5 * 2 * 128 * 576 * 1536 / (time.perf_counter() - tic) / 1e9

    model, tokenizer = load(str(folder))
    chat = tokenizer.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False)
    answer = "".join(r.text for r in stream_generate(model, tokenizer, chat, max_tokens=10))
    # the same prompt shape as mlx_lm.benchmark: random token ids, EOS disabled
    prompt = mx.random.randint(0, 49152, (args.prompt_tokens,), key=mx.random.key(2)).tolist()
    tokenizer._eos_token_ids = set()
    prompt_tps, decode_tps = [], []
    for _ in range(args.trials):
        *_, last = stream_generate(model, tokenizer, prompt, max_tokens=args.generation_tokens)
        prompt_tps.append(last.prompt_tps)
        decode_tps.append(last.generation_tps)
    print(
        json.dumps(
            {
                "layout": args.layout,
                "blas": blas_description(),
                "threads": os.environ.get("OPENBLAS_NUM_THREADS")
                or os.environ.get("BLIS_NUM_THREADS")
                or "dflt",
                "note": "spin" if os.environ.get("OPENBLAS_THREAD_TIMEOUT") == "30" else "",
                "matmul_gflops": gflops,
                "prompt_tps": statistics.median(prompt_tps),
                "decode_tps": statistics.median(decode_tps),
                "peak_gb": mx.get_peak_memory() / 1e9,
                "paris": "Paris" in answer,
                "conversion_s": conversion_s,
            }
        )
    )


BLIS = "/usr/lib/x86_64-linux-gnu/blis-pthread/libblis.so.4"
OPENBLAS = "/usr/lib/x86_64-linux-gnu/libopenblas.so.0"


def options(include_reference: bool) -> list[tuple[str, dict[str, str]]]:
    """(layout, environment) pairs worth comparing on this machine; the first three use the default BLAS."""
    runs: list[tuple[str, dict[str, str]]] = [(layout, {}) for layout in ("float32", "float16", "quantized")]
    if Path(OPENBLAS).exists():
        runs.append(("float32", {"MLX_BENCH_BLAS": OPENBLAS}))
        runs.append(("float32", {"MLX_BENCH_BLAS": OPENBLAS, "OPENBLAS_THREAD_TIMEOUT": "30"}))
        runs.append(("float32", {"MLX_BENCH_BLAS": OPENBLAS, "OPENBLAS_NUM_THREADS": "1"}))
    if Path(BLIS).exists():
        runs.append(("float32", {"MLX_BENCH_BLAS": BLIS}))
        runs.append(("float32", {"MLX_BENCH_BLAS": BLIS, "BLIS_NUM_THREADS": str(os.cpu_count() or 1)}))
    if include_reference:
        for layout in ("float32", "quantized"):
            runs.append((layout, {"MLX_BENCH_BLAS": "off"}))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--generation-tokens", type=int, default=32)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--no-reference", action="store_true", help="skip the slow bundled-BLAS runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--layout", default="float32", help=argparse.SUPPRESS)
    parser.add_argument("--time-conversion", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows: list[dict[str, Any]] = []
    timed: set[str] = set()
    for layout, extra_env in options(not args.no_reference):
        command = [
            sys.executable,
            __file__,
            "--child",
            "--layout",
            layout,
            "--prompt-tokens",
            str(args.prompt_tokens),
            "--generation-tokens",
            str(args.generation_tokens),
            "--trials",
            str(args.trials),
            *([] if layout in timed else ["--time-conversion"]),
        ]
        timed.add(layout)
        out = subprocess.run(
            command, env={**os.environ, **extra_env}, capture_output=True, text=True, check=True
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  measured {layout} {extra_env or ''}: {json.dumps(rows[-1])}", file=sys.stderr)
    print(
        f"prompt {args.prompt_tokens} tokens, decode {args.generation_tokens} tokens, median of {args.trials}"
    )
    header = f"{'layout':10} {'blas':44} {'thr':>4} {'GF/s':>7} {'prompt t/s':>10} {'decode t/s':>10} {'peak GB':>8} {'Paris':>5} {'convert s':>9}"
    print(header)
    for row in rows:
        conversion = "" if row["conversion_s"] is None else f"{row['conversion_s']:.1f}"
        print(
            f"{row['layout']:10} {(row['blas'][:38] + ' ' + row['note']):44} {row['threads']:>4} {row['matmul_gflops']:7.1f} "
            f"{row['prompt_tps']:10.1f} {row['decode_tps']:10.1f} {row['peak_gb']:8.3f} "
            f"{'yes' if row['paris'] else 'NO':>5} {conversion:>9}"
        )
    print(
        f"command: {shlex.join([os.path.relpath(sys.executable), 'benchmarks/blas_options.py', *sys.argv[1:]])}"
    )
    print(f"cpu cores: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
