"""Log-likelihoods from an OpenAI-compatible server: ``/v1/completions`` with ``echo`` and ``logprobs``.

This is the request lm-eval's ``local-completions`` model sends (``max_tokens: 1, logprobs: 1, echo: true``).
We send text rather than token ids, so the continuation's tokens are found by the server's own
``text_offset``s: those starting at or after the end of the context. A pair whose context end falls inside a
token cannot be split honestly and fails as a sample (its reason recorded), never silently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import aiohttp

from mlx_benchmarks.errors import PrerequisiteError, TargetProtocolError, TargetUnavailable
from mlx_benchmarks.targets.loglik_base import ChoiceScore
from mlx_benchmarks.targets.openai_http import OpenAITarget, summarise_http_error


class CompletionsLoglik:
    """``LoglikScorer`` over a server's legacy completions endpoint."""

    method = "/v1/completions echo+logprobs (server tokenisation, continuation found by text_offset)"

    def __init__(self, target: OpenAITarget) -> None:
        self.target = target

    async def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[ChoiceScore]:
        return [await self._one(context, continuation) for context, continuation in pairs]

    async def _one(self, context: str, continuation: str) -> ChoiceScore:
        session = self.target._session  # the target's own session: its auth and connection limits
        if session is None or self.target.model is None:
            raise TargetUnavailable("target not started")
        body = {"model": self.target.model, "prompt": context + continuation, "max_tokens": 1,
                "temperature": 0.0, "logprobs": 1, "echo": True}
        timeout = aiohttp.ClientTimeout(total=self.target.timeout_s)
        async with session.post(self.target.base_url + "/completions", json=body, timeout=timeout,
                                headers={"Accept": "application/json"}) as response:
            text = await response.text()
            if response.status in (400, 404, 422, 501):
                raise PrerequisiteError(
                    f"{self.target.host_port} cannot return prompt log-probabilities for --scoring loglikelihood "
                    f"(/v1/completions with echo and logprobs): {summarise_http_error(response.status, text)}")
            if response.status >= 400:
                raise TargetProtocolError(f"/v1/completions: {summarise_http_error(response.status, text)}")
        return continuation_score(text, len(context), len(context) + len(continuation))


def continuation_score(text: str, start: int, end: int) -> ChoiceScore:
    """The score of the echoed prompt's characters ``[start, end)`` from a completions response body."""
    try:
        logprobs: Any = json.loads(text)["choices"][0]["logprobs"]
        tokens, values, offsets = logprobs["tokens"], logprobs["token_logprobs"], logprobs["text_offset"]
        tops = logprobs.get("top_logprobs") or [None] * len(tokens)
    except (ValueError, KeyError, IndexError, TypeError):
        raise PrerequisiteError("the server's /v1/completions answer has no echoed logprobs "
                                "(tokens, token_logprobs, text_offset); --scoring loglikelihood needs them") from None
    if not (len(tokens) == len(values) == len(offsets)) or not all(isinstance(o, int) for o in offsets):
        raise TargetProtocolError("completions logprobs: tokens, token_logprobs and text_offset differ in length")
    if start not in offsets:
        raise TargetProtocolError("the context's end falls inside one of the server's tokens; "
                                  "this pair cannot be scored by text offsets")
    chosen = [i for i, offset in enumerate(offsets) if start <= offset < end]
    logprob, greedy = 0.0, True
    for i in chosen:
        value = values[i]
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TargetProtocolError(f"completions logprobs: token {i} has no finite log-probability")
        logprob += float(value)
        top = tops[i] if i < len(tops) else None
        if isinstance(top, dict) and top:
            greedy = greedy and max(top, key=lambda k: top[k]) == tokens[i]
    if not chosen:
        raise TargetProtocolError("the server echoed no token for the continuation")
    return ChoiceScore(logprob=logprob, is_greedy=greedy, n_tokens=len(chosen))
