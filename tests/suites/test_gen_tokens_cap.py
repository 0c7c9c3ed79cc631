"""``--gen-tokens`` with ``--dataset`` caps each prompt's own output length (issue #20: it was ignored, and the
packaged sample's p50 output was 136-192 tokens where 16 were asked). The envelope's tags say where output
lengths came from. Runs the real throughput suite in process against a test double that generates exactly
``max_tokens`` tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_USAGE
from mlx_benchmarks.store import Store
from mlx_benchmarks.targets.base import ChatRequest, Chunk, Usage, now_ns
from tests.doubles.echo_target import ScriptedTarget

TARGET = "py:tests.suites.test_gen_tokens_cap:obedient_target"


class ObedientTarget(ScriptedTarget):
    """TEST DOUBLE: streams exactly ``max_tokens`` one-word tokens, as a model that never stops early."""

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        prompt = " ".join(str(m["content"]) for m in request.messages)
        yield Chunk(t_ns=now_ns(), kind="role")
        for _ in range(request.max_tokens):
            await asyncio.sleep(0)
            yield Chunk(t_ns=now_ns(), kind="content", text="tok ")
        yield Chunk(t_ns=now_ns(), kind="usage", finish_reason="length",
                    usage=Usage(prompt_tokens=len(prompt.split()), completion_tokens=request.max_tokens))


def obedient_target(model: str | None = None) -> ObedientTarget:
    return ObedientTarget(lambda _: "", model=model or "obedient")


def run_sample(store: Path, *flags: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    code = main(["run", "throughput", "--target", TARGET, "--store", str(store), "--git-sha", "abcdef0",
                 "--dataset", "sample", "--dataset-limit", "6", "--trials", "1", "--warmup", "0", *flags])
    assert code == 0
    run_id = Store(store).run_ids()[-1]
    return Store(store).envelope(run_id), Store(store).samples(run_id)


def test_gen_tokens_caps_the_datasets_output_lengths(tmp_path: Path) -> None:
    envelope, samples = run_sample(tmp_path / "a")
    own = [s["gen_tokens_requested"] for s in samples]
    assert max(own) > 16  # the sample asks for its own, longer answers
    tags = envelope["results"][0]["tags"]
    assert tags["output_tokens_source"] == "dataset"

    envelope, samples = run_sample(tmp_path / "b", "--gen-tokens", "16")
    capped = [s["gen_tokens_requested"] for s in samples]
    assert capped == [min(n, 16) for n in own]  # the same prompts, each cut to the cap
    assert all(s["output_tokens"] <= 16 for s in samples)
    tags = envelope["results"][0]["tags"]
    assert tags["output_tokens_source"] == "dataset, capped at 16 (--gen-tokens)" and tags["output_tokens_cap"] == "16"
    assert float(tags["output_tokens_p50"]) <= 16
    assert envelope["gen_kwargs"]["max_gen_toks"] == 16


def test_several_caps_with_a_dataset_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "throughput", "--target", TARGET, "--store", str(tmp_path), "--dataset", "sample",
                 "--gen-tokens", "16,32"]) == EXIT_USAGE
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "--gen-tokens 16,32" in err and "cap" in err
