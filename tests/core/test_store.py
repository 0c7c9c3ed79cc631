from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mlx_benchmarks.errors import EnvelopeInvalid, StoreError
from mlx_benchmarks.query import list_runs
from mlx_benchmarks.store import Store, shard_id
from tests.core.helpers import example_envelope


def test_put_writes_one_shard_with_envelope_rows_and_tags(tmp_path: Path) -> None:
    store = Store(tmp_path)
    document = example_envelope()
    stored = store.put(document, samples=[{"key": "a", "task": "t", "score": 1.0, "detail": {"x": 1}}])
    assert stored.created
    assert stored.run_id.startswith("run-20260424T183000-aaa3ff3-reasoning-mlx-community-qwen3-5-9b-mlx-4bit-")
    files = sorted(p.name for p in stored.path.iterdir())
    assert files == ["envelope.json", "results.parquet", "run.parquet", "samples.parquet"]
    assert json.loads((stored.path / "envelope.json").read_text()) == document
    rows = pq.read_table(stored.path / "results.parquet").to_pylist()
    assert rows[0]["model"] == document["model"] and rows[0]["suite"] == "reasoning"
    assert rows[0]["tag_lm_eval_key"] == "exact_match,flexible-extract" and rows[0]["tag_n_limit"] == "10"
    assert rows[0]["value"] == 0.8
    assert store.samples(stored.run_id)[0]["detail"] == '{"x": 1}'
    assert not any((tmp_path / ".tmp").iterdir())


def test_same_envelope_twice_is_a_noop_and_nothing_is_overwritten(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = store.put(example_envelope())
    before = (first.path / "envelope.json").stat().st_mtime_ns
    second = store.put(example_envelope())
    assert (second.run_id, second.created) == (first.run_id, False)
    assert (first.path / "envelope.json").stat().st_mtime_ns == before
    other = store.put(example_envelope(model="another"))
    assert other.created and other.run_id != first.run_id
    assert len(store.run_ids()) == 2


def test_invalid_and_empty_envelopes_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(EnvelopeInvalid):
        store.put(example_envelope(timestamp="nope"))
    with pytest.raises(EnvelopeInvalid, match="empty results"):
        store.put(example_envelope(results=[]))
    assert store.run_ids() == []
    skipped = store.put(example_envelope(results=[], skipped=True, errors=["no Apple Silicon"]))
    assert sorted(p.name for p in skipped.path.iterdir()) == ["envelope.json", "run.parquet"]
    assert list_runs(store)[0]["skipped"] is True


def test_unwritable_store_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="not writable"):
        Store(blocker / "store").put(example_envelope())


def test_list_runs_filters_and_orders(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.put(example_envelope(timestamp="2026-01-01T00:00:00Z", model="a"))
    store.put(example_envelope(timestamp="2026-02-01T00:00:00Z", model="b", suite="coding"))
    store.put(example_envelope(timestamp="2026-03-01T00:00:00Z", model="a"))
    assert [r["model"] for r in list_runs(store)] == ["a", "b", "a"]
    assert len(list_runs(store, model="a")) == 2
    assert [r["suite"] for r in list_runs(store, suite="coding")] == ["coding"]
    from datetime import UTC, datetime

    assert len(list_runs(store, since=datetime(2026, 1, 15, tzinfo=UTC))) == 2


def test_resolve_prefix(tmp_path: Path) -> None:
    store = Store(tmp_path)
    a = store.put(example_envelope(model="a")).run_id
    store.put(example_envelope(model="b"))
    assert store.resolve(a[:-3]) == a
    with pytest.raises(StoreError, match="matches 2 runs"):
        store.resolve("run-")
    with pytest.raises(StoreError, match="no stored run"):
        store.resolve("zzz")


WRITER = """
import sys, json
from mlx_benchmarks.store import Store
doc = json.loads(sys.stdin.read())
store = Store(sys.argv[1])
print("ready", flush=True)
i = 0
while True:
    doc["model"] = f"m{i}"
    doc["results"] = [dict(doc["results"][0], name=f"r{j}") for j in range(400)]
    store.put(doc, samples=[{"key": str(j), "response": "x" * 2000} for j in range(300)])
    i += 1
"""


def test_killing_a_writer_mid_write_leaves_no_partial_shard(tmp_path: Path) -> None:
    """SIGKILL a process that writes shards in a loop, at several moments; every visible shard is whole."""
    for attempt in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdin and proc.stdout
        proc.stdin.write(json.dumps(example_envelope()))
        proc.stdin.close()
        assert proc.stdout.readline().strip() == "ready"
        if attempt == 0:  # a loaded machine may take seconds per shard: let one finish before the first kill
            deadline = time.monotonic() + 120
            while not Store(tmp_path).run_ids() and time.monotonic() < deadline:
                time.sleep(0.02)
        time.sleep(0.15 + 0.11 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    store = Store(tmp_path)
    ids = store.run_ids()
    assert ids, "the writer should have finished some shards"
    for run_id in ids:
        path = store.runs_dir / run_id
        assert sorted(p.name for p in path.iterdir()) == ["envelope.json", "results.parquet", "run.parquet", "samples.parquet"]
        envelope = json.loads((path / "envelope.json").read_text())
        assert shard_id(envelope) == run_id
        assert pq.read_table(path / "results.parquet").num_rows == 400
        assert pq.read_table(path / "samples.parquet").num_rows == 300
    assert not [p for p in store.runs_dir.iterdir() if not (p / "envelope.json").is_file()]
    assert len(list_runs(store)) == len(ids)


def test_samples_of_mixed_types_are_stored_as_text(tmp_path: Path) -> None:
    store = Store(tmp_path)
    stored = store.put(example_envelope(), samples=[{"key": "a", "extracted": 5}, {"key": "b", "extracted": "five"},
                                                    {"key": "c", "extracted": None}])
    assert [s["extracted"] for s in store.samples(stored.run_id)] == ["5", "five", None]
