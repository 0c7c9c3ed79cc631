"""Leftovers are cleaned up (#21): a writer killed mid-shard leaves a staging folder that the next write
removes; a journal that cannot start leaves nothing and names its key; ``runs --incomplete`` and ``gc``."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tests.core.helpers import example_envelope

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import StoreError
from mlx_benchmarks.runner import journal as journal_module
from mlx_benchmarks.runner.journal import SampleJournal
from mlx_benchmarks.store import TMP_DIR, Store

REPO = Path(__file__).resolve().parents[2]
HANGING_WRITER = textwrap.dedent("""
    import sys, time
    from mlx_benchmarks import store as store_module
    from tests.core.helpers import example_envelope
    def hang(*args):  # the writer stops mid-shard, holding its staging folder
        print("writing", flush=True)
        time.sleep(600)
    store_module._write_parquet = hang
    store_module.Store(sys.argv[1]).put(example_envelope(model="killed-mid-write"))
""")


def _age(path: Path, seconds: float = 3600) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_a_writer_killed_mid_shard_leaves_nothing_after_the_next_write(tmp_path: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-c", HANGING_WRITER, str(tmp_path)], cwd=REPO, text=True,
                              stdout=subprocess.PIPE)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        staging = [p for p in (tmp_path / TMP_DIR).iterdir() if p.is_dir()]
        assert len(staging) == 1
        _age(staging[0])
        Store(tmp_path).put(example_envelope(model="while-alive"))
        assert staging[0].exists(), "a live writer's staging folder is never removed, however old"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    fresh = tmp_path / TMP_DIR / "run-fresh.abc"
    fresh.mkdir()  # young and unlocked: perhaps a writer between mkdtemp and its lock; kept
    Store(tmp_path).put(example_envelope(model="after-the-kill"))
    assert not staging[0].exists(), "the killed writer's staging folder is removed by the next write"
    assert fresh.exists()
    assert [p.name for p in (tmp_path / TMP_DIR).iterdir()] == ["run-fresh.abc"]
    assert len(Store(tmp_path).run_ids()) == 2


def test_a_journal_that_cannot_start_leaves_nothing_and_names_its_key(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(path: Path, data: bytes) -> None:
        path.write_bytes(b"")  # what a full disk leaves: the file made, nothing in it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module, "_write_private", disk_full)
    with pytest.raises(StoreError) as caught:
        SampleJournal.create(tmp_path, "reasoning-20261204T000000-abcd", {"request": {}, "timestamp": "t"})
    assert "reasoning-20261204T000000-abcd" in str(caught.value) and "no space left" in str(caught.value)
    assert list((tmp_path / "inprogress").iterdir()) == []


def _journal(root: Path, key: str, config: object | None) -> Path:
    directory = root / "inprogress" / key
    directory.mkdir(parents=True)
    if config is not None:
        (directory / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    (directory / "samples.jsonl").write_text('{"key": "a"}\n{"key": "b", "error": "HTTP 500"}\n')
    return directory


def test_runs_incomplete_and_gc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path)
    config = {"request": {"suite": "reasoning"}, "timestamp": "2026-12-04T10:00:00Z"}
    _journal(tmp_path, "reasoning-ok", config)
    _journal(tmp_path, "empty-config", "")
    _journal(tmp_path, "no-config", None)
    busy = SampleJournal(_journal(tmp_path, "reasoning-busy", config))
    busy.acquire()
    try:
        assert main(["runs", "--incomplete", "--store", store, "--json"]) == 0
        listed = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
        assert {k: r["status"] for k, r in listed.items()} == {
            "reasoning-ok": "resumable", "empty-config": "unusable", "no-config": "unusable",
            "reasoning-busy": "in use"}
        assert listed["reasoning-ok"]["samples"] == 2 and listed["reasoning-ok"]["failed"] == 1
        assert main(["runs", "--incomplete", "--store", store]) == 0
        table = capsys.readouterr().out
        assert "reasoning-ok" in table and "no config.json" in table
        assert all(len(line) <= 80 for line in table.splitlines())

        assert main(["gc", "--store", store, "--dry-run"]) == 0
        assert "would remove journal empty-config" in capsys.readouterr().out
        assert len(list((tmp_path / "inprogress").iterdir())) == 4
        assert main(["gc", "--store", store]) == 0
        out = capsys.readouterr().out
        assert "removed journal empty-config" in out and "removed journal no-config" in out
        assert sorted(p.name for p in (tmp_path / "inprogress").iterdir()) == ["reasoning-busy", "reasoning-ok"]
        assert main(["gc", "--store", store, "--all"]) == 0
        capsys.readouterr()
        assert [p.name for p in (tmp_path / "inprogress").iterdir()] == ["reasoning-busy"], "never one in use"
    finally:
        busy.release()
