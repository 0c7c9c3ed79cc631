"""MLXTarget on the converted embedded model: streaming, limits, EOS, stops, prompts, errors."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.errors import TargetUnavailable
from mlx_benchmarks.measure.timing import Completion, collect
from mlx_benchmarks.targets.base import ChatRequest, Target, now_ns
from mlx_benchmarks.targets.mlx_prompt import held_back_suffix

try:
    import mlx.core as mx
except ImportError:  # pragma: no cover - exercised only where MLX is absent
    mx = None

needs_mlx = pytest.mark.skipif(mx is None, reason="mlx.core is not importable")
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def run(target: Any, request: ChatRequest) -> Completion:
    return asyncio.run(collect(target.stream(request), start_ns=now_ns()))


# ----- pure helpers (no MLX) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stops", "held"),
    [
        ("Hello wor", ["world"], 3),
        ("Hello", ["world"], 0),
        ("ab<", ["<|end|>", "<x"], 1),
        ("x<|en", ["<|end|>"], 4),
    ],
)
def test_held_back_suffix(text: str, stops: list[str], held: int) -> None:
    assert held_back_suffix(text, stops) == held


# ----- the target ----------------------------------------------------------------------------------------


@needs_mlx
@pytest.mark.mlx
def test_target_satisfies_protocol_and_reports_itself(mlx_target: Any, embedded_model_dir: Path) -> None:
    assert isinstance(mlx_target, Target)
    info = mlx_target.info
    assert info.kind == "mlx"
    assert info.model == "SmolLM2-135M-Instruct"
    config = json.loads((embedded_model_dir / "config.json").read_text())
    expected = (
        f"mlx-{config['quantization']['bits']}bit" if "quantization" in config else config["torch_dtype"]
    )
    assert info.quantization == expected
    assert info.model_revision is not None and info.model_revision.startswith("sha256:")
    assert info.supports_ignore_eos


@needs_mlx
@pytest.mark.mlx
def test_streams_paris_with_increasing_timestamps(mlx_target: Any) -> None:
    completion = run(mlx_target, ChatRequest(messages=QUESTION, max_tokens=16))
    assert "Paris" in completion.text
    assert completion.finish_reason == "stop"
    times = completion.token_times_ns
    assert len(times) >= 2
    assert completion.first_token_ns is not None and completion.first_token_ns > completion.start_ns
    assert all(b > a for a, b in itertools.pairwise(times))
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == len(mlx_target.prompt_ids(ChatRequest(messages=QUESTION)))
    assert usage.completion_tokens == len(times)  # one content chunk per English token here
    assert usage.server_prompt_tps and usage.server_prompt_tps > 0
    assert usage.server_generation_tps and usage.server_generation_tps > 0
    peak = mlx_target.peak_memory_gb()
    assert peak is not None and peak > 0.05  # the weights alone are larger than 50 MB


@needs_mlx
@pytest.mark.mlx
def test_respects_max_tokens(mlx_target: Any) -> None:
    completion = run(mlx_target, ChatRequest(messages=QUESTION, max_tokens=3))
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    assert completion.finish_reason == "length"
    assert mlx_target.count_tokens(completion.text) == 3


@needs_mlx
@pytest.mark.mlx
def test_ignore_eos_generates_exactly_max_tokens(mlx_target: Any) -> None:
    natural = run(mlx_target, ChatRequest(messages=QUESTION, max_tokens=24))
    assert natural.finish_reason == "stop"  # the model would stop by itself before 24 tokens
    assert natural.usage is not None and natural.usage.completion_tokens is not None
    assert natural.usage.completion_tokens < 24
    forced = run(mlx_target, ChatRequest(messages=QUESTION, max_tokens=24, ignore_eos=True))
    assert forced.finish_reason == "length"
    assert forced.usage is not None and forced.usage.completion_tokens == 24
    assert forced.text.startswith(natural.text)


@needs_mlx
@pytest.mark.mlx
def test_stop_string_ends_the_answer_before_it(mlx_target: Any) -> None:
    completion = run(mlx_target, ChatRequest(messages=QUESTION, max_tokens=16, stop=[" Paris"]))
    assert completion.finish_reason == "stop"
    assert "Paris" not in completion.text
    assert completion.text.startswith("The capital")


@needs_mlx
@pytest.mark.mlx
def test_seeded_sampling_repeats(mlx_target: Any) -> None:
    request = ChatRequest(messages=QUESTION, max_tokens=8, temperature=1.0, top_p=0.95, top_k=50, seed=11)
    assert run(mlx_target, request).text == run(mlx_target, request).text


@needs_mlx
@pytest.mark.mlx
@pytest.mark.parametrize("n_tokens", [1, 2, 5, 33, 300])
def test_make_prompt_has_exact_token_count(mlx_target: Any, embedded_model_dir: Path, n_tokens: int) -> None:
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(embedded_model_dir / "tokenizer.json"))
    first = mlx_target.make_prompt(n_tokens, "run-7")
    second = mlx_target.make_prompt(n_tokens, "run-8")
    for prompt in (first, second):
        assert len(reference.encode(prompt, add_special_tokens=False).ids) == n_tokens
    assert first != second
    if n_tokens > 5:
        assert first.startswith("run-7") and second.startswith("run-8")


@needs_mlx
@pytest.mark.mlx
def test_count_tokens_agrees_with_the_tokenizer(mlx_target: Any, embedded_model_dir: Path) -> None:
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(embedded_model_dir / "tokenizer.json"))
    for text in ("", "Paris", "The year 2024 had 366 days.", "<|im_start|>user\nhi<|im_end|>"):
        assert mlx_target.count_tokens(text) == len(reference.encode(text, add_special_tokens=False).ids)


@needs_mlx
@pytest.mark.mlx
def test_concurrent_requests_queue_one_at_a_time(mlx_target: Any) -> None:
    request = ChatRequest(messages=QUESTION, max_tokens=4, ignore_eos=True)

    async def both() -> list[Completion]:
        return list(await asyncio.gather(*(collect(mlx_target.stream(request)) for _ in range(2))))

    first, second = sorted(asyncio.run(both()), key=lambda c: c.token_times_ns[0])
    assert first.text == second.text
    assert first.token_times_ns[-1] < second.token_times_ns[0]  # no interleaving


@needs_mlx
@pytest.mark.mlx
def test_request_failures_are_error_chunks(mlx_target: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(mlx_target, ChatRequest(messages=QUESTION, max_tokens=0)).error == (
        "max_tokens must be at least 1 for the mlx target"
    )

    def failing_sampler(logprobs: Any) -> Any:
        raise RuntimeError("sampler exploded")

    monkeypatch.setattr(mlx_target, "_generate_kwargs", lambda request: {"sampler": failing_sampler})
    completion = run(mlx_target, ChatRequest(messages=QUESTION, max_tokens=4))
    assert completion.error == "mlx generation failed: sampler exploded"
    assert completion.text == ""


@needs_mlx
@pytest.mark.mlx
def test_bad_paths_raise_target_unavailable(tmp_path: Path) -> None:
    from mlx_benchmarks.targets.registry import TargetSpec, make_target

    with pytest.raises(TargetUnavailable, match="not an mlx-lm model folder"):
        asyncio.run(make_target(TargetSpec(target="mlx:/nonexistent")).start())
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(TargetUnavailable, match="could not be loaded"):
        asyncio.run(make_target(TargetSpec(target=f"mlx:{tmp_path}")).start())


@needs_mlx
@pytest.mark.mlx
def test_tools_reach_the_template_and_snapshot_revision(embedded_model_dir: Path, tmp_path: Path) -> None:
    from mlx_benchmarks.targets.mlx_inproc import MLXTarget

    snapshot = tmp_path / "models--org--tiny" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "special_tokens_map.json"):
        shutil.copy(embedded_model_dir / name, snapshot / name)
    (snapshot / "model.safetensors").symlink_to(embedded_model_dir / "model.safetensors")
    config = json.loads((embedded_model_dir / "tokenizer_config.json").read_text())
    config["chat_template"] = (
        "{% if tools %}TOOLS:{% for t in tools %}{{ t.function.name }};{% endfor %}|{% endif %}"
        "{% for m in messages %}{{ m.role }}: {{ m.content }}|{% endfor %}"
    )
    (snapshot / "tokenizer_config.json").write_text(json.dumps(config))
    target = MLXTarget(snapshot)
    asyncio.run(target.start())
    assert target.info.model_revision == "0123abcd"
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    with_tools = target.decode(target.prompt_ids(ChatRequest(messages=QUESTION, tools=[tool])))
    assert with_tools.startswith("TOOLS:get_weather;|user: What is the capital")
    without = target.decode(target.prompt_ids(ChatRequest(messages=QUESTION)))
    assert without == "user: What is the capital of France?|"
    asyncio.run(target.stop())


# ----- fast BLAS preload (fresh interpreters: it only works before mlx.core is imported) ---------------

PROBE = (
    "from mlx_benchmarks.targets.mlx_blas import preload_fast_blas, has_fast_blas\n"
    "{before}"
    "print(preload_fast_blas()); print(has_fast_blas())\n"
    "import mlx.core as mx; print(mx.array([1.0, 2.0]).sum().item())\n"
)


def probe(before: str = "", **env: str) -> list[str]:
    script = PROBE.format(before=before)
    out = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()


@needs_mlx
@pytest.mark.mlx
@pytest.mark.linux_only(reason="the Linux CPU wheel's BLAS; macOS MLX uses Accelerate and Metal")
def test_blas_preload_choices() -> None:
    from mlx_benchmarks.targets.mlx_blas import INSTALL_HINT, _candidates

    off = probe(MLX_BENCH_BLAS="off")
    assert off[0].startswith("bundled reference BLAS") and off[1:] == ["False", "3.0"]
    late = probe(before="import mlx.core\n")
    assert "imported before" in late[0] and late[1] == "False"
    candidates = _candidates({})
    default = probe()
    if candidates:
        assert default[0].endswith(f"({candidates[0]})") and default[1:] == ["True", "3.0"]
    else:
        assert INSTALL_HINT in default[0]


# ----- the model's context ---------------------------------------------------------------------------------


def test_context_length_from_config_and_fitting_a_request() -> None:
    from mlx_benchmarks.targets.mlx_inproc import context_length, fit_to_context

    assert context_length({"max_position_embeddings": 8192}) == 8192
    assert context_length({"text_config": {"max_position_embeddings": 4096}}) == 4096
    assert context_length({"n_positions": 1024, "model_type": "gpt2"}) == 1024
    assert context_length({"model_type": "x"}) is None
    assert fit_to_context(100, 256, 8192) == 256
    assert fit_to_context(8000, 256, 8192) == 192, "capped to what is left; the answer ends with 'length'"
    assert fit_to_context(8192, 4, 8192) == "the prompt is 8192 tokens; the model's context is 8192"
    assert fit_to_context(10**6, 4, None) == 4, "no known context: nothing to enforce"


@needs_mlx
@pytest.mark.mlx
def test_a_prompt_longer_than_the_context_is_a_failed_request_not_garbage(mlx_target: Any) -> None:
    assert mlx_target.info.details["context_length"] == "8192"
    text = mlx_target.make_prompt(8300, "too-long")
    completion = run(mlx_target, ChatRequest(messages=[{"role": "user", "content": text}], max_tokens=4))
    assert completion.error is not None and "the model's context is 8192" in completion.error
    assert completion.first_token_ns is None, "refused before any prefill"
