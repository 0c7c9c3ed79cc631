"""In-process log-likelihoods on the embedded model against two oracles on the same weights and tokens:
``mlx_lm.evaluate.MLXLM.loglikelihood`` (mlx-lm's lm-eval adapter: lm-eval's request, MLX's forward pass)
and one plain forward pass of ``mlx_lm`` over the whole context + continuation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.datasets import load_dataset, select
from mlx_benchmarks.targets.loglik import encode_pair, scorer_for

pytestmark = pytest.mark.mlx


def pairs_of(dataset: str, n: int) -> list[list[tuple[str, str]]]:
    return [[(c, x) for c, x in r.meta["requests"]] for r in select(load_dataset(dataset), n, 1)]


@pytest.fixture(scope="module")
def questions() -> list[list[tuple[str, str]]]:
    # short zero-shot contexts, long five-shot ones, and WinoGrande's different contexts per choice
    return [*pairs_of("arc_easy_rc0", 4), *pairs_of("hellaswag_rc5", 1), *pairs_of("winogrande_rc0", 2)]


def test_matches_mlx_lm_evaluate_and_a_direct_forward_pass(mlx_target: Any, embedded_model_dir: Path,
                                                         questions: list[list[tuple[str, str]]]) -> None:
    import mlx.core as mx
    from lm_eval.api.instance import Instance
    from mlx_lm.evaluate import MLXLM

    scorer = scorer_for(mlx_target)
    ours = [asyncio.run(scorer.loglikelihood(q)) for q in questions]
    flat = [pair for q in questions for pair in q]

    def reference() -> list[tuple[float, bool]]:
        lm = MLXLM(str(embedded_model_dir))
        requests = [Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=i)
                    for i, pair in enumerate(flat)]
        result: list[tuple[float, bool]] = lm.loglikelihood(requests)
        return result

    def forward(pair: tuple[str, str]) -> float:
        model, _ = mlx_target.loaded
        context, continuation = encode_pair(mlx_target.encode, *pair)
        logits = model(mx.array(context + continuation)[None])[0].astype(mx.float32)
        logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        positions = mx.arange(len(context) - 1, len(context) + len(continuation) - 1)
        return float(mx.sum(logprobs[positions, mx.array(continuation)]))

    theirs = asyncio.run(mlx_target.run_in_worker(reference))
    direct = [asyncio.run(mlx_target.run_in_worker(forward, pair)) for pair in flat]
    ours_flat = [s for q in ours for s in q]
    assert len(ours_flat) == len(theirs) == len(direct) == len(flat)
    for mine, (their_lp, their_greedy), plain in zip(ours_flat, theirs, direct, strict=True):
        assert mine.logprob == pytest.approx(their_lp, abs=2e-3)
        assert mine.logprob == pytest.approx(plain, abs=2e-3)
        assert mine.is_greedy == bool(their_greedy)
    # the choice each question makes is the same as the reference's
    offset = 0
    for question, scores in zip(questions, ours, strict=True):
        reference_lps = [lp for lp, _ in theirs[offset: offset + len(question)]]
        offset += len(question)
        mine = [s.logprob for s in scores]
        assert mine.index(max(mine)) == reference_lps.index(max(reference_lps))
