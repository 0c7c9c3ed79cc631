"""``mlx-bench run --resume KEY`` is suggested only where it works: a run that journaled at least one sample.

A throughput run (speed suites journal nothing), an unreachable target and a quality run stopped before its
first sample leave no journal and print no hint; a quality run interrupted after some samples prints the hint,
and the command it prints finishes the run. Uses the one-task test suite over test-double targets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.doubles.echo_target import ScriptedTarget, double_it

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_INTERRUPTED, EXIT_NO_MEASUREMENT, EXIT_USAGE
from mlx_benchmarks.store import Store
from mlx_benchmarks.suites import registry
from mlx_benchmarks.targets.base import ChatRequest, Chunk

SWITCHABLE = "py:tests.runner.test_resume_hint:switchable_words"
INTERRUPTING = "py:tests.runner.test_resume_hint:interrupting_target"


class InterruptingTarget(ScriptedTarget):
    """TEST DOUBLE: answers ``INTERRUPT_AFTER`` requests, then sends this process SIGINT (a Ctrl-C mid-request)."""

    def __init__(self, model: str | None) -> None:
        super().__init__(double_it, model=model or "interrupting-doubler")
        self.budget = int(os.environ["INTERRUPT_AFTER"])

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        if self.budget <= 0:
            os.kill(os.getpid(), signal.SIGINT)  # asyncio's handler cancels the run, as a real Ctrl-C does
            await asyncio.sleep(30)
        self.budget -= 1
        async for chunk in super().stream(request):
            yield chunk


def interrupting_target(model: str | None = None) -> ScriptedTarget:
    return InterruptingTarget(model)


def switchable_words(model: str | None = None) -> ScriptedTarget:
    """TEST DOUBLE: four words per answer; every request fails while the file ``SWITCHABLE_DOWN`` exists."""
    return ScriptedTarget(lambda _: "one two three four", fail=lambda _: Path(os.environ["SWITCHABLE_DOWN"]).exists(),
                          model=model or "switchable-words")


@pytest.fixture(autouse=True)
def _test_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.SUITES, "reasoning", "tests.doubles.echo_target:ArithSuite")


def journals(store: Path) -> list[Path]:
    folder = store / "inprogress"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def run(store: Path, *flags: str) -> int:
    return main(["run", *flags, "--store", str(store), "--git-sha", "abcdef0"])


def test_a_throughput_run_never_suggests_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    down = tmp_path / "down"
    down.touch()
    monkeypatch.setenv("SWITCHABLE_DOWN", str(down))
    store = tmp_path / "store"
    code = run(store, "throughput", "--target", SWITCHABLE, "--prompt-lengths", "8", "--gen-tokens", "4",
               "--trials", "1", "--warmup", "0")
    out, err = capsys.readouterr()
    assert code == EXIT_NO_MEASUREMENT, err
    assert "--resume" not in out + err and "nothing to resume" in err
    assert journals(store) == []
    down.unlink()  # a throughput run that works prints no hint either
    assert run(store, "throughput", "--target", SWITCHABLE, "--prompt-lengths", "8", "--gen-tokens", "4",
               "--trials", "1", "--warmup", "0") == 0
    out, err = capsys.readouterr()
    assert "--resume" not in out + err and "run key" not in out + err


def test_an_unreachable_target_suggests_no_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = tmp_path / "store"
    code = run(store, "reasoning", "--target", f"http://127.0.0.1:{port}/v1", "--model", "m")
    out, err = capsys.readouterr()
    assert code == EXIT_USAGE, err
    assert "--resume" not in out + err and journals(store) == []


def test_a_quality_run_stopped_before_its_first_sample_suggests_no_resume(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INTERRUPT_AFTER", "0")
    store = tmp_path / "store"
    assert run(store, "reasoning", "--target", INTERRUPTING, "--limit", "4") == EXIT_INTERRUPTED
    out, err = capsys.readouterr()
    assert "--resume" not in out + err and journals(store) == []


def test_a_quality_run_interrupted_after_samples_prints_a_hint_that_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INTERRUPT_AFTER", "3")
    store = tmp_path / "store"
    assert run(store, "reasoning", "--target", INTERRUPTING, "--limit", "8") == EXIT_INTERRUPTED
    out, err = capsys.readouterr()
    (hint,) = [line for line in (out + err).splitlines() if "--resume" in line]
    assert hint.startswith("interrupted after ") and "journaled samples" in hint
    key = hint.split("--resume ", 1)[1].split("`")[0]
    assert [j.name for j in journals(store)] == [key]
    monkeypatch.setenv("INTERRUPT_AFTER", "100")
    assert main(["run", "--resume", key, "--store", str(store)]) == 0
    (run_id,) = Store(store).run_ids()
    assert Store(store).envelope(run_id)["results"][0]["tags"]["n_samples"] == "8"
    assert journals(store) == []
