"""Exact resume, in process over the switchable test double: figures from the samples' own timings, one shard
per run key however often it finishes, one process per run key at a time."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_NO_MEASUREMENT, EXIT_USAGE
from mlx_benchmarks.runner.journal import SampleJournal
from mlx_benchmarks.store import Store
from mlx_benchmarks.suites import registry

TARGET = "py:tests.doubles.switchable_target:switchable_target"
DELAY_S = 0.05
LIMIT = 8  # the test suite runs two requests at a time: about LIMIT / 2 * DELAY_S of work


@pytest.fixture(autouse=True)
def _test_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.SUITES, "reasoning", "tests.doubles.echo_target:ArithSuite")
    monkeypatch.setenv("SWITCHABLE_DELAY_S", str(DELAY_S))


def run(store: Path, *flags: str) -> int:
    return main(["run", "reasoning", "--target", TARGET, "--limit", str(LIMIT), "--store", str(store),
                 "--git-sha", "abcdef0", *flags])


def only(store: Path) -> dict[str, Any]:
    (run_id,) = Store(store).run_ids()
    result: dict[str, Any] = Store(store).envelope(run_id)["results"][0]
    return result


def interrupted_key(store: Path) -> str:
    (journal,) = (store / "inprogress").iterdir()
    return journal.name


def crash_once(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> None:
    """``cls.name`` raises once, as a process killed at that point would stop there."""
    real = getattr(cls, name)
    calls = {"n": 0}

    def crashing(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt  # the harness's own "process stopped here"
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, crashing)


def test_resume_with_nothing_left_reports_the_uninterrupted_figures(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(tmp_path / "reference") == 0
    reference = only(tmp_path / "reference")
    store = tmp_path / "store"
    crash_once(monkeypatch, Store, "put")  # every sample journaled, then the process dies before storing
    assert run(store) == 130
    key = interrupted_key(store)
    assert len((store / "inprogress" / key / "samples.jsonl").read_text().splitlines()) == LIMIT
    assert main(["run", "--resume", key, "--store", str(store)]) == 0
    resumed = only(store)
    # before: 0.0 s and millions of tokens per second, as only this process's (empty) work was timed
    assert resumed["duration_seconds"] == pytest.approx(reference["duration_seconds"], rel=0.5)
    assert resumed["decode_tokens_per_second"] == pytest.approx(reference["decode_tokens_per_second"], rel=0.5)
    assert resumed["duration_seconds"] >= LIMIT / 2 * DELAY_S * 0.9


def test_crash_between_the_shards_rename_and_the_journals_removal_stores_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    crash_once(monkeypatch, SampleJournal, "discard")
    assert run(store) == 130
    key = interrupted_key(store)
    assert len(Store(store).run_ids()) == 1, "the shard was stored before the crash"
    capsys.readouterr()
    assert main(["run", "--resume", key, "--store", str(store)]) == 0
    assert "already stored" in capsys.readouterr().out
    assert len(Store(store).run_ids()) == 1 and not (store / "inprogress" / key).exists()
    assert main(["run", "--resume", key, "--store", str(store)]) == EXIT_USAGE  # nothing left to resume


def test_a_second_resume_of_one_key_at_once_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    down = tmp_path / "down"
    down.touch()
    monkeypatch.setenv("SWITCHABLE_DOWN", str(down))
    assert run(store) == EXIT_NO_MEASUREMENT
    key = interrupted_key(store)
    down.unlink()
    holder, _ = SampleJournal.open(store, key)
    holder.acquire()  # another process is resuming this key (flock: per open file, so this is a real conflict)
    capsys.readouterr()
    try:
        assert main(["run", "--resume", key, "--store", str(store)]) == EXIT_USAGE
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"run {key} is already being run or resumed by another process" in err[0]
        assert Store(store).run_ids() == []
    finally:
        holder.release()
    assert main(["run", "--resume", key, "--store", str(store)]) == 0
    assert only(store)["tags"]["n_samples"] == str(LIMIT)


def test_the_shard_id_of_a_run_derives_from_its_run_key(tmp_path: Path) -> None:
    from mlx_benchmarks.store import run_key_digest, shard_id

    envelope = {"timestamp": "2026-01-01T00:00:00Z", "git_sha": "abcdef0", "suite": "reasoning", "model": "m"}
    one = shard_id({**envelope, "errors": ["a"]}, "key-1")
    assert one == shard_id({**envelope, "errors": ["b"]}, "key-1") and one.endswith(run_key_digest("key-1"))
    assert shard_id(envelope, "key-2") != one


def test_store_maps_a_full_disk_to_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from tests.core.helpers import example_envelope

    from mlx_benchmarks.errors import StoreError

    def full(*args: Any, **kwargs: Any) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", full)
    with pytest.raises(StoreError, match="no space left on device"):
        Store(tmp_path).put(example_envelope())


def test_put_with_one_run_key_stores_once_whatever_the_envelope(tmp_path: Path) -> None:
    from tests.core.helpers import example_envelope

    store = Store(tmp_path)
    first = store.put(example_envelope(), run_key="20260101T000000-reasoning-abc123")
    # a second finish of the same run: other memory figures, other durations, same run key
    again = store.put(example_envelope(errors=["measured again"]), run_key="20260101T000000-reasoning-abc123")
    assert first.created and not again.created and again.run_id == first.run_id
    assert store.find_run_key("20260101T000000-reasoning-abc123") == first.run_id
    assert store.find_run_key("another-key") is None and store.run_ids() == [first.run_id]


def test_an_unreadable_journal_is_exit_2_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = SampleJournal.create(tmp_path, "20260101T000000-reasoning-abc123", {"request": {}, "timestamp": "t"})
    journal.release()
    (journal.directory / "config.json").write_text('{"request": ', encoding="utf-8")  # torn by a full disk
    assert main(["run", "--resume", journal.run_key, "--store", str(tmp_path)]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the journal of run '20260101T000000-reasoning-abc123' is unreadable" in err[0]


def test_a_filesystem_without_locks_still_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert run(tmp_path / "store") == 0
    assert only(tmp_path / "store")["tags"]["n_samples"] == str(LIMIT)
