"""Log-likelihoods over HTTP: reading an echoed /v1/completions answer, and a clear refusal (exit 2) from a
server that cannot give prompt log-probabilities."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import PrerequisiteError, TargetProtocolError
from mlx_benchmarks.measure.calibration_server import SpawnedCalibrationServer
from mlx_benchmarks.targets.loglik_http import continuation_score


def echoed(tokens: list[str], logprobs: list[float | None], generated: str = "!") -> str:
    """A vLLM-shaped completions body: the prompt's tokens echoed, then one generated token."""
    offsets, at = [], 0
    for token in [*tokens, generated]:
        offsets.append(at)
        at += len(token)
    values = [*logprobs, -0.5]
    tops = [None] + [{t: v} for t, v in zip([*tokens, generated][1:], values[1:], strict=True)]
    body = {"choices": [{"text": "".join(tokens) + generated, "logprobs": {
        "tokens": [*tokens, generated], "token_logprobs": values, "text_offset": offsets, "top_logprobs": tops}}]}
    return json.dumps(body)


def test_the_continuation_is_the_tokens_from_the_context_end_to_the_prompt_end() -> None:
    context, continuation = "Question: 2+2?\nAnswer:", " four"
    body = echoed(["Question", ":", " 2", "+", "2", "?", "\n", "Answer", ":", " fo", "ur"],
                  [None, -1.0, -2.0, -0.5, -0.1, -0.3, -0.2, -1.5, -0.01, -2.5, -0.25])
    score = continuation_score(body, len(context), len(context) + len(continuation))
    assert score.n_tokens == 2
    assert math.isclose(score.logprob, -2.75)
    assert score.is_greedy  # each top_logprobs entry is the echoed token itself


def test_a_context_end_inside_a_token_fails_that_question_only() -> None:
    body = echoed(["Answer", ": four"], [None, -1.0])
    with pytest.raises(TargetProtocolError, match="inside one of the server's tokens"):
        continuation_score(body, len("Answer:"), len("Answer: four"))


def test_an_answer_without_echoed_logprobs_names_what_is_missing() -> None:
    with pytest.raises(PrerequisiteError, match="echo"):
        continuation_score(json.dumps({"choices": [{"text": "x"}]}), 0, 1)


def test_a_server_without_prompt_logprobs_is_refused_in_one_line(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # the calibration server streams chat-style events for any POST: no echoed log-probabilities
    with SpawnedCalibrationServer() as server:
        code = main(["run", "reasoning", "--scoring", "loglikelihood", "--tasks", "arc_easy", "--limit", "2",
                     "--target", server.url, "--store", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "loglikelihood" in err[0] and "echo" in err[0]
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # nothing stored


@pytest.mark.parametrize("flags, message", [
    (["--scoring", "loglikelihood", "--num-fewshot", "3"], "--num-fewshot 3"),
    (["--num-fewshot", "5"], "applies to --scoring loglikelihood only"),
    (["--scoring", "loglikelihood", "--tasks", "gsm8k"], "unknown log-likelihood task"),
])
def test_bad_scoring_flags_are_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       flags: list[str], message: str) -> None:
    code = main(["run", "reasoning", *flags, "--target", "http://127.0.0.1:9/v1", "--store", str(tmp_path)])
    assert code == 2
    assert message in capsys.readouterr().err
