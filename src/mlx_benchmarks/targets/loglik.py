"""Log-likelihood of continuations given a context: the capability ``--scoring loglikelihood`` needs.

What a scorer returns per (context, continuation) pair is what lm-eval's ``LM.loglikelihood`` returns: the
summed log-probability of the continuation's tokens and whether greedy decoding would have produced them.
Tokenisation follows lm-eval's ``_encode_pair``: trailing whitespace of the context moves to the
continuation, the pair is encoded whole, and the continuation's tokens are the whole's tokens after the
context's own encoding (no special tokens added, as lm-eval's causal models and ``mlx_lm.evaluate`` do for
a model with a chat template).

Targets that can: in-process MLX (``loglik_mlx``) and OpenAI-compatible servers whose ``/v1/completions``
echoes prompt log-probabilities (``loglik_http``). Others get a one-line PrerequisiteError (exit 2).
"""

from __future__ import annotations

from mlx_benchmarks.errors import PrerequisiteError
from mlx_benchmarks.targets.base import Target
from mlx_benchmarks.targets.loglik_base import ChoiceScore, LoglikScorer, encode_pair

__all__ = ["ChoiceScore", "LoglikScorer", "encode_pair", "scorer_for"]


def scorer_for(target: Target) -> LoglikScorer:
    """The log-likelihood scorer of ``target``; PrerequisiteError naming what is missing."""
    from mlx_benchmarks.targets.mlx_inproc import MLXTarget  # MLX is imported only when a target loads it

    if isinstance(target, MLXTarget):
        from mlx_benchmarks.targets.loglik_mlx import MLXLoglik

        return MLXLoglik(target)
    from mlx_benchmarks.targets.openai_http import OpenAITarget

    if isinstance(target, OpenAITarget):
        from mlx_benchmarks.targets.loglik_http import CompletionsLoglik

        return CompletionsLoglik(target)
    raise PrerequisiteError(
        f"--scoring loglikelihood needs prompt log-probabilities, which a {target.info.kind} target does not "
        "give; use an in-process MLX target (mlx:PATH or the embedded default) or a server whose "
        "/v1/completions returns echo + logprobs (vLLM, llama.cpp's llama-cpp-python server)"
    )
