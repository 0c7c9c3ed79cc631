"""Make OUR envelopes, one or more per suite, for the seed-oracle fixtures (tests/fixtures/upstream_oracle/).

Every envelope comes from our own code: ``mlx-bench run`` on the test doubles that know the answers
(``py:tests.doubles.gold_target``), on the embedded model for the log-likelihood scoring, ``mlx-bench
import`` of the three import fixtures, and the real runs already kept as CLI fixtures (tests/cli/fixtures/).
Run from the checkout root, with the venv (slow parts: the log-likelihood run loads the embedded model):

    PYTHONPATH=. .venv/bin/python scripts/upstream_oracle_envelopes.py
    PYTHONPATH=. .venv/bin/python scripts/upstream_oracle.py      # then run the seed's code on them
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "upstream_oracle" / "envelopes"
GOLD = "py:tests.doubles.gold_target:gold_target"
WRONG = "py:tests.doubles.gold_target:wrong_target"
SHA = ["--git-sha", "0a1b2c3d4e5f"]
CLI_FIXTURES = ("throughput_grid", "throughput_load", "ttft", "reasoning", "tool_calling", "framework_eval")
RUNS: dict[str, list[str]] = {
    "knowledge": ["run", "knowledge", "--target", GOLD, "--limit", "2"],
    "math_hard": ["run", "math-hard", "--target", GOLD, "--limit", "2"],
    "coding": ["run", "coding", "--target", GOLD, "--limit", "2"],
    "code_accuracy": ["run", "code-accuracy", "--target", GOLD, "--limit", "2"],
    "capability_comparison": ["run", "capability-comparison", "--target", GOLD, "--target", WRONG,
                              "--suites", "reasoning", "--limit", "2"],
    "loglikelihood": ["run", "reasoning", "--scoring", "loglikelihood", "--tasks", "arc_easy", "--limit", "2"],
}
IMPORTS = (("import_lm_eval", "lm-eval", "lm_eval_results.json", "reasoning"),
           ("import_vllm", "vllm", "vllm_bench_serve.json", "throughput"),
           ("import_llama_bench", "llama-bench", "llama_bench.json", "throughput"))


def cli(args: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "mlx_benchmarks.cli.main", *args], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          timeout=900, check=False)
    if done.returncode != 0:
        raise SystemExit(f"mlx-bench {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return done.stdout


def stored(store: Path) -> list[dict[str, Any]]:
    from mlx_benchmarks.store import Store

    return [Store(store).envelope(run_id) for run_id in Store(store).run_ids()]


def evalplus(tmp: Path) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    from tests.datasets.test_evalplus import evalplus_sample_humaneval, evalplus_sample_mbpp, write_gz

    data = tmp / "evalplus-data"
    data.mkdir()
    write_gz(data / "HumanEvalPlus-v0.1.10.jsonl.gz", evalplus_sample_humaneval())
    write_gz(data / "MbppPlus-v0.2.0.jsonl.gz", evalplus_sample_mbpp())
    store = tmp / "evalplus"
    cli(["run", "evalplus", "--data", str(data), "--target", GOLD, "--store", str(store), *SHA],
        env={"MLX_BENCH_CACHE": str(tmp / "cache"), "GOLD_TARGET_DATA": str(data)})
    return stored(store)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    made: dict[str, dict[str, Any]] = {}
    for name in CLI_FIXTURES:
        made[name] = json.loads((ROOT / "tests" / "cli" / "fixtures" / f"{name}.json").read_text())
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for name, args in RUNS.items():
            store = tmp / name
            cli([*args, "--store", str(store), *SHA])
            for index, envelope in enumerate(sorted(stored(store), key=lambda e: (e["suite"], e["model"]))):
                made[f"{name}_{index}" if index else name] = envelope
        made["evalplus"] = evalplus(tmp)[0]
        for name, kind, fixture, suite in IMPORTS:
            path = ROOT / "tests" / "fixtures" / "imports" / fixture
            made[name] = json.loads(cli(["import", "--kind", kind, str(path), "--suite", suite, "--no-store",
                                         "--json", *SHA]))
    for name, envelope in sorted(made.items()):
        (OUT / f"{name}.json").write_text(json.dumps(envelope, indent=1, sort_keys=True) + "\n")
    print(f"{len(made)} envelopes in {OUT.relative_to(ROOT)}: {', '.join(sorted(made))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
