"""kill -9 in the middle of a quality run, then ``mlx-bench run --resume KEY``: nothing finished is redone.

The slow gold-answer double writes one line per request into a log, so the test can count how often
each prompt was asked; the resumed run must store the same results as a run that was never stopped.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.store import Store

REPO = Path(__file__).resolve().parents[2]
TARGET = "py:tests.doubles.gold_target:slow_gold_target"
LIMIT = 6  # per task; reasoning has two tasks
FLAGS = ["--target", TARGET, "--limit", str(LIMIT), "--concurrency", "1", "--git-sha", "abcdef0"]


def comparable(envelope: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Each result without its timings: name, metric, value and the counting tags."""
    return [(r["name"], r["metric"], r["value"], r["tags"]["n_samples"], r["tags"]["n_errors"], r["tags"]["stderr"])
            for r in envelope["results"]]


def wait_for_journal(store: Path, process: subprocess.Popen[bytes], at_least: int) -> Path:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for journal in (store / "inprogress").glob("*/samples.jsonl"):
            if len(journal.read_text(encoding="utf-8").splitlines()) >= at_least:
                return journal
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("no journaled samples appeared in time")


def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, log = tmp_path / "store", tmp_path / "requests.log"
    env = {**os.environ, "GOLD_TARGET_LOG": str(log), "GOLD_TARGET_DELAY_S": "0.4",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "mlx_benchmarks.cli.main", "run", "reasoning", "--store", str(store), *FLAGS]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = wait_for_journal(store, process, at_least=random.randint(2, 9))  # a random point
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.stderr is not None
    process.stderr.close()
    finished = [json.loads(line)["id"] for line in journal.read_text(encoding="utf-8").splitlines()
                if line.endswith("}")]
    assert 2 <= len(finished) < 2 * LIMIT
    assert Store(store).run_ids() == []  # nothing stored by the killed run
    asked_before = Counter(log.read_text(encoding="utf-8").split())

    # "run SUITE --resume KEY": argparse REMAINDER in cli/run_cmd refuses a bare "run --resume KEY" today
    resumed = subprocess.run([sys.executable, "-m", "mlx_benchmarks.cli.main", "run", "reasoning", "--resume", journal.parent.name,
                              "--store", str(store)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    asked = Counter(log.read_text(encoding="utf-8").split())
    assert all(asked[sample_id] == 1 for sample_id in finished), "a finished sample was requested again"
    assert len(asked) == 2 * LIMIT and sum(asked.values()) <= 2 * LIMIT + 1  # at most the one in flight, twice
    assert sum(asked.values()) - sum(asked_before.values()) == 2 * LIMIT - len(finished)

    (run_id,) = Store(store).run_ids()
    envelope = Store(store).envelope(run_id)
    validate(envelope)
    samples = Store(store).samples(run_id)
    assert len(samples) == 2 * LIMIT and len({s["key"] for s in samples}) == 2 * LIMIT  # no duplicates
    for result in envelope["results"]:
        # one request at a time, 0.4 s each: the figures of both processes together, as if never stopped
        # (before: only the resuming process was timed). Above: each sample's own time, plus the gaps
        own = [json.loads(s["timing"]) for s in samples if s["task"] == result["name"]]
        busy = covered_seconds([(t["start_ns"], t["end_ns"]) for t in own])
        # duration_seconds is stored to 4 decimals: compare busy at that precision
        assert 0.9 * LIMIT * 0.4 <= round(busy, 4) <= result["duration_seconds"] <= 1.2 * busy + 0.5, result
        if result.get("decode_tokens_per_second"):
            tokens = sum(s["completion_tokens"] or 0 for s in samples if s["task"] == result["name"])
            assert result["decode_tokens_per_second"] == pytest.approx(tokens / result["duration_seconds"], rel=1e-3)
    assert not journal.parent.exists()  # the journal is gone once the run is stored

    monkeypatch.setenv("GOLD_TARGET_DELAY_S", "0")
    monkeypatch.delenv("GOLD_TARGET_LOG", raising=False)
    reference = tmp_path / "reference"
    assert main(["run", "reasoning", "--store", str(reference), *FLAGS]) == 0
    (reference_id,) = Store(reference).run_ids()
    assert comparable(envelope) == comparable(Store(reference).envelope(reference_id))
    assert envelope["gen_kwargs"] == Store(reference).envelope(reference_id)["gen_kwargs"]


def test_two_resumes_of_one_key_at_once_do_the_work_once(tmp_path: Path) -> None:
    """Two real processes: the second ``--resume`` of a key being resumed exits 2; the run is stored once."""
    store, log = tmp_path / "store", tmp_path / "requests.log"
    env = {**os.environ, "GOLD_TARGET_LOG": str(log), "GOLD_TARGET_DELAY_S": "0.3",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    cli = [sys.executable, "-m", "mlx_benchmarks.cli.main", "run"]
    first = subprocess.Popen([*cli, "reasoning", "--store", str(store), *FLAGS], cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = wait_for_journal(store, first, at_least=2)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    key = journal.parent.name
    before = len(journal.read_text(encoding="utf-8").splitlines())

    resuming = subprocess.Popen([*cli, "--resume", key, "--store", str(store)], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_journal(store, resuming, at_least=before + 1)  # it holds the key's lock and is working
    second = subprocess.run([*cli, "--resume", key, "--store", str(store)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 2, second.stderr
    assert second.stderr.strip().splitlines() == [
        f"mlx-bench: error: run {key} is already being run or resumed by another process"]
    _, err = resuming.communicate(timeout=300)
    assert resuming.returncode == 0, err
    assert len(Store(store).run_ids()) == 1
    asked = Counter(log.read_text(encoding="utf-8").split())
    assert len(asked) == 2 * LIMIT and sum(asked.values()) <= 2 * LIMIT + 1  # nothing done twice


def covered_seconds(spans: list[tuple[int, int]]) -> float:
    """The time covered by the union of ``spans`` (ns): a sample's span ends after its scoring, which now
    runs outside the request gate and so may overlap the next request."""
    total, reach = 0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total / 1e9
