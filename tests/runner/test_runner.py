"""The Runner with an in-process scripted target (a test double) and a one-task test suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from mlx_benchmarks.errors import RunIncomplete, TargetUnavailable
from mlx_benchmarks.runner.execute import Runner, RunRequest, run_sync
from mlx_benchmarks.runner.journal import SampleJournal
from mlx_benchmarks.store import Store
from mlx_benchmarks.suites import registry
from mlx_benchmarks.targets.registry import TargetSpec

DOUBLES = "py:tests.doubles.echo_target:"


@pytest.fixture(autouse=True)
def _test_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.SUITES, "reasoning", "tests.doubles.echo_target:ArithSuite")


def run(tmp_path: Path, target: str, **kw: object) -> tuple[Store, dict]:  # type: ignore[type-arg]
    store = Store(tmp_path / "store")
    options = kw.pop("options", {"limit": 6})
    request = RunRequest(suite="reasoning", spec=TargetSpec(target=DOUBLES + target), options=options, **kw)  # type: ignore[arg-type]
    report = run_sync(Runner(store, Console(quiet=True)), request)
    return store, report.envelope


def test_run_stores_results_samples_memory_and_seed(tmp_path: Path) -> None:
    store, envelope = run(tmp_path, "doubling_target", seed=99)
    assert envelope["model"] == "doubler" and envelope["seed"] == 99 and envelope["quantization"] == "none"
    result = envelope["results"][0]
    assert (result["name"], result["metric"], result["value"]) == ("arith", "exact_match", 1.0)
    assert result["tags"]["n_samples"] == "6" and result["tags"]["n_errors"] == "0"
    assert result["decode_tokens_per_second"] > 0 and result["duration_seconds"] > 0
    assert [m["phase"] for m in envelope["memory_snapshots"]] == ["before", "loaded", "peak", "after"]
    assert all(m["rss_gb"] > 0 for m in envelope["memory_snapshots"])
    run_id = store.run_ids()[0]
    samples = store.samples(run_id)
    assert len(samples) == 6 and all(s["think_stripped"] for s in samples)
    assert {s["extracted"] for s in samples} == {str(2 * i) for i in range(6)}
    assert not list((tmp_path / "store" / "inprogress").iterdir()), "journal removed once stored"


def test_failed_requests_are_counted_not_scored(tmp_path: Path) -> None:
    _, envelope = run(tmp_path, "flaky_target")
    result = envelope["results"][0]
    assert result["value"] == 1.0, "the 4 answered samples are all right; the 2 failures are not scored as wrong"
    assert result["tags"]["n_samples"] == "4" and result["tags"]["n_errors"] == "2"
    assert envelope["errors"] == ["arith: 2 of 6 samples failed (e.g. TargetProtocolError: HTTP 500: scripted failure)",
                                  "partial run: 6 samples tried, 2 failed, 0 never tried"]


def test_unreachable_target_raises_or_is_stored_as_skipped(tmp_path: Path) -> None:
    with pytest.raises(TargetUnavailable):
        run(tmp_path, "unreachable_target")
    assert Store(tmp_path / "store").run_ids() == []
    store, envelope = run(tmp_path, "unreachable_target", skip_unavailable=True)
    assert envelope["skipped"] is True and envelope["results"] == []
    assert "target unavailable" in envelope["errors"][0]
    assert len(store.run_ids()) == 1


@pytest.mark.parametrize(("limit", "why"), [
    (20, r"stopped after 8 consecutive failed requests.*; 8 samples tried, 8 failed, 12 never tried"),
    (6, r"no measurement: every request of the run failed \(arith: 6 of 6 samples failed"),
])
def test_a_dead_target_stores_nothing_and_keeps_the_journal(tmp_path: Path, limit: int, why: str) -> None:
    with pytest.raises(RunIncomplete, match=why + r".*the journal is kept: `mlx-bench run --resume \S+` will finish"):
        run(tmp_path, "dead_target", options={"limit": limit})
    assert Store(tmp_path / "store").run_ids() == []
    (journal,) = (tmp_path / "store" / "inprogress").iterdir()
    assert (journal / "samples.jsonl").is_file()


def test_a_dead_target_is_stored_as_skipped_only_when_asked(tmp_path: Path) -> None:
    _, envelope = run(tmp_path, "dead_target", skip_unavailable=True, options={"limit": 4})
    assert envelope["skipped"] is True
    assert any("every request of the run failed" in e for e in envelope["errors"])


def test_journal_survives_a_torn_last_line(tmp_path: Path) -> None:
    journal = SampleJournal.create(tmp_path, "k1", {"request": {}, "timestamp": "t"})
    journal.append({"key": "a", "v": 1})
    with open(journal.path, "a") as handle:
        handle.write('{"key": "b", "v"')
    journal.release()
    reopened, config = SampleJournal.open(tmp_path, "k1")
    reopened.acquire()
    assert config["timestamp"] == "t" and list(reopened.done()) == ["a"]
    reopened.append({"key": "c"})
    assert list(reopened.done()) == ["a", "c"]


def test_an_error_before_any_sample_leaves_no_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.doubles import echo_target

    from mlx_benchmarks.errors import DatasetError

    async def broken(self: object, ctx: object) -> None:
        raise DatasetError("dataset vanished")

    monkeypatch.setattr(echo_target.ArithSuite, "run", broken)
    with pytest.raises(DatasetError):
        run(tmp_path, "doubling_target")
    assert not list((tmp_path / "store" / "inprogress").iterdir())


def test_bare_resume_flag_parses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlx_benchmarks.cli.main import main

    assert main(["run", "--resume", "no-such-key", "--store", str(tmp_path)]) == 2
    assert "no interrupted run 'no-such-key'" in capsys.readouterr().err
