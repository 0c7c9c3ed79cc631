"""Run the seed project's own converters (``mlx-bench-publish``'s lm-eval and vLLM converters) on result files and
keep the rows they make, as the oracle ``mlx-bench import`` is held to (tests/importers/test_upstream_converters.py).

The converters are imported from a checkout of the seed project (default ``../shared/upstream`` beside this
checkout; its commit is in its ``COMMIT`` file and recorded in every output), never copied here. Their package is
also called ``mlx_benchmarks``, so this script must run in a process of its own, with theirs first on the path:

    .venv/bin/python scripts/upstream_converters_oracle.py            # rewrite tests/fixtures/upstream_converters/
    .venv/bin/python scripts/upstream_converters_oracle.py --print    # the same cases as JSON on stdout

Inputs: the seed's two fixtures (copied next to the output, so the test runs without the seed checkout), the
import fixtures of tests/fixtures/imports/, and an lm-eval 0-shot arc_easy results file whose ``configs`` section
is lm-eval 0.4.13's own ``TaskConfig.to_dict()`` of its arc_easy.yaml (the scores are made up).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "upstream_converters"
INPUTS = OUT / "inputs"
DEFAULT_UPSTREAM = ROOT.parent / "shared" / "upstream"
SEED_FIXTURES = ("lm_eval_results_sample.json", "vllm_benchmark_serving_sample.json")
SUITE = {"lm-eval": "reasoning", "vllm": "throughput"}
USER_TAGS = {"machine": "m4-max-ci", "n_limit": "set-by-user", "lm_eval_key": "set-by-user", "completed_requests": "7"}
# case id -> (kind, input path relative to the checkout, the user's --tag pairs)
CASES: dict[str, tuple[str, str, dict[str, str]]] = {
    "seed_lm_eval_sample": ("lm-eval", "tests/fixtures/upstream_converters/inputs/lm_eval_results_sample.json", {}),
    "seed_vllm_sample": ("vllm", "tests/fixtures/upstream_converters/inputs/vllm_benchmark_serving_sample.json", {}),
    "lm_eval_results": ("lm-eval", "tests/fixtures/imports/lm_eval_results.json", {}),
    "lm_eval_results_tagged": ("lm-eval", "tests/fixtures/imports/lm_eval_results.json", USER_TAGS),
    "lm_eval_arc_easy_0shot": ("lm-eval", "tests/fixtures/upstream_converters/inputs/lm_eval_arc_easy_0shot.json", {}),
    "vllm_bench_serve": ("vllm", "tests/fixtures/imports/vllm_bench_serve.json", {}),
    "vllm_bench_serve_tagged": ("vllm", "tests/fixtures/imports/vllm_bench_serve.json", USER_TAGS),
}
GIT_SHA = "0a1b2c3d4e5f"
STAMP = "2026-01-01T00:00:00Z"


def upstream_commit(upstream: Path) -> str:
    return (upstream / "COMMIT").read_text(encoding="utf-8").strip()


def load_converters(upstream: Path) -> Any:
    """The seed's ``mlx_benchmarks.converters``; refuses to run where our package of the same name is loaded."""
    if "mlx_benchmarks" in sys.modules:
        raise SystemExit("run this script in its own process: mlx_benchmarks is already imported")
    sys.path.insert(0, str(upstream / "src"))
    import mlx_benchmarks.converters as converters

    if not Path(converters.__file__).resolve().is_relative_to(upstream.resolve()):
        raise SystemExit(f"imported {converters.__file__}, not the seed's converters under {upstream}")
    return converters


def run_case(converters: Any, kind: str, document: dict[str, Any], tags: dict[str, str]) -> list[dict[str, Any]]:
    from mlx_benchmarks.converters.base import ConverterContext

    context = ConverterContext(suite=SUITE[kind], model="oracle-model", git_sha=GIT_SHA, timestamp_override=STAMP,
                               system={"os": "macOS 26.1", "chip": "Apple M4 Max", "memory_gb": 128},
                               extra_tags=dict(tags))
    envelope = converters.get_converter(kind).build_envelope(document, context)
    rows: list[dict[str, Any]] = list(envelope["results"])
    return rows


def cases(upstream: Path) -> dict[str, dict[str, Any]]:
    """Every case: its input, the user's tags, and the converter's rows."""
    converters = load_converters(upstream)
    commit = upstream_commit(upstream)
    out = {}
    for case, (kind, relative, tags) in CASES.items():
        data = (ROOT / relative).read_bytes()
        out[case] = {"upstream_commit": commit, "kind": kind, "input": relative,
                     "input_sha256": hashlib.sha256(data).hexdigest(), "suite": SUITE[kind], "extra_tags": tags,
                     "rows": run_case(converters, kind, json.loads(data), tags)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=Path, default=DEFAULT_UPSTREAM, help="the seed project's checkout")
    parser.add_argument("--print", action="store_true", help="print the cases as JSON instead of writing them")
    args = parser.parse_args(argv)
    if not (args.upstream / "src" / "mlx_benchmarks" / "converters").is_dir():
        raise SystemExit(f"{args.upstream}: no seed checkout with src/mlx_benchmarks/converters")
    if not args.print:  # pin the seed's own inputs beside the rows they produced
        INPUTS.mkdir(parents=True, exist_ok=True)
        for name in SEED_FIXTURES:
            shutil.copyfile(args.upstream / "tests" / "fixtures" / name, INPUTS / name)
    made = cases(args.upstream)
    if args.print:
        print(json.dumps(made, indent=1, sort_keys=True))
        return 0
    for case, body in made.items():
        (OUT / f"{case}.json").write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(made)} cases from the seed's converters at {upstream_commit(args.upstream)} in "
          f"{OUT.relative_to(ROOT)}: {', '.join(made)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
