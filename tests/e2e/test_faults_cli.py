"""The fault battery through whole CLI runs (in process) against the fault server (tests/doubles/fault_server.py).

Quality suites ride out 429 / 503 storms, cut streams and stalls by retrying (counted per sample and in tags);
speed suites never retry a timed request: the failure is an error of its cell. No fault makes a run exit 1.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.errors import EXIT_NO_MEASUREMENT, EXIT_OK
from mlx_benchmarks.store import Store
from mlx_benchmarks.targets import retry
from tests.doubles.fault_server import (
    Cut,
    Die,
    Empty,
    Fault,
    FaultServer,
    Garbage,
    Ok,
    Plan,
    Stall,
    Status,
    always,
    every_nth,
    first_attempts,
)

QUICK = ["--git-sha", "abcdef0"]
QUALITY = ["reasoning", "--limit", "2", "--concurrency", "2"]  # 2 tasks x 2 records = 4 samples
SPEED = ["throughput", "--prompt-lengths", "8", "--gen-tokens", "4", "--trials", "3", "--warmup", "0",
         "--no-client-check"]
TIMED = Ok(delay_s=0.003)  # tokens in separate reads, so decode time is measurable


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff without Retry-After waits up to BACKOFF_BASE_S doubling; keep the tests fast."""
    monkeypatch.setattr(retry, "BACKOFF_BASE_S", 0.01)


def run(plan: Plan, store: Path, suite_flags: list[str], *extra: str) -> tuple[int, list[Fault]]:
    with FaultServer(plan).in_thread() as server:
        code = main(["run", *suite_flags, "--target", server.url, "--store", str(store), *QUICK, *extra])
        return code, list(server.faults)


def only(store: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    s = Store(store)
    (run_id,) = s.run_ids()
    envelope = s.envelope(run_id)
    validate(envelope)
    return envelope, s.samples(run_id)


def test_quality_rides_out_a_429_storm_honouring_retry_after(tmp_path: Path) -> None:
    code, faults = run(first_attempts(Status(429, "slow down", retry_after="0"), times=2), tmp_path, QUALITY)
    assert code == EXIT_OK
    envelope, samples = only(tmp_path)
    assert envelope["errors"] == [] and len(samples) == 4
    assert [s["retries"] for s in samples] == [2, 2, 2, 2] and not any(s["error"] for s in samples)
    assert {r["tags"]["retries"] for r in envelope["results"] if "retries" in r["tags"]} == {"4"}, "2 per task"
    assert sum(isinstance(f, Status) for f in faults) == 8 and sum(isinstance(f, Ok) for f in faults) == 4


def test_quality_retries_cut_streams_and_stalls_within_the_idle_timeout(tmp_path: Path) -> None:
    plan: Plan = lambda index, attempt: Cut() if attempt == 1 else Stall(seconds=30) if attempt == 2 else Ok()  # noqa: E731
    started = time.monotonic()
    code, faults = run(plan, tmp_path, QUALITY, "--idle-timeout", "0.5")
    assert code == EXIT_OK
    assert time.monotonic() - started < 30, "each stall ends at the 0.5 s idle timeout, not the request timeout"
    envelope, samples = only(tmp_path)
    assert envelope["errors"] == [] and [s["retries"] for s in samples] == [2, 2, 2, 2]
    assert len(faults) == 12


def test_quality_gives_up_after_max_retries_and_records_the_reason(tmp_path: Path) -> None:
    code, faults = run(always(Status(503, "overloaded", retry_after="0")), tmp_path, QUALITY, "--max-retries", "1")
    assert code == EXIT_NO_MEASUREMENT, "nothing was measured: a documented non-zero code, never 1"
    assert len(faults) == 8, "4 samples x (1 try + 1 retry), no more"


@pytest.mark.parametrize("fault", [Status(500), Garbage(b'data: {"choices": [{"delta": {"tool_calls": 1}}]}\n\n'),
                                   Garbage(b"data: {oops\n\n"), Empty(), Status(404, "model not found")])
def test_quality_does_not_retry_what_is_not_transient(tmp_path: Path, fault: Fault) -> None:
    code, faults = run(every_nth(2, fault), tmp_path, QUALITY)
    assert code == EXIT_OK
    envelope, samples = only(tmp_path)
    assert len(faults) == 4 and sum(1 for s in samples if s["error"]) == 2
    assert all(s["retries"] == 0 for s in samples)
    assert any("2 samples failed" in e or "1 of 2 samples failed" in e for e in envelope["errors"])


def test_quality_server_killed_mid_run_exits_with_a_documented_code(tmp_path: Path) -> None:
    code, faults = run(lambda index, attempt: Die() if index == 1 else Ok(), tmp_path, QUALITY)
    assert code in (EXIT_OK, EXIT_NO_MEASUREMENT)
    assert isinstance(faults[1], Die) and not any(isinstance(f, Die) for f in faults[2:])
    envelope, samples = only(tmp_path)
    # the cut answer was retried (over a keep-alive connection still open, where one was idle); a request
    # needing a new connection was refused, and a refusal is not retried. How many requests needed a new
    # connection depends on which of the two workers was in flight when the server went: at least one did.
    failed = [s for s in samples if s["error"]]
    assert failed and all("cannot reach" in s["error"] for s in failed), [s["error"] for s in failed]
    assert sum(s["retries"] for s in samples) >= 1 and len(failed) < len(samples)
    assert any("partial run" in e for e in envelope["errors"])


def test_speed_never_retries_a_timed_request(tmp_path: Path) -> None:
    code, clean = run(always(TIMED), tmp_path / "clean", SPEED)
    assert code == EXIT_OK
    code, faults = run(every_nth(3, Status(503, "busy", retry_after="0"), TIMED), tmp_path / "faulty", SPEED)
    assert code == EXIT_OK
    assert len(faults) == len(clean), "exactly the requests of a clean run: none repeated"
    envelope, _ = only(tmp_path / "faulty")
    assert any("HTTP 503" in e for e in envelope["errors"])


def test_speed_stall_is_an_error_of_the_cell_bounded_by_the_idle_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    code, faults = run(lambda index, attempt: Stall(seconds=30) if index == 3 else TIMED, tmp_path, SPEED,
                       "--idle-timeout", "0.5")
    assert code == EXIT_OK and time.monotonic() - started < 30
    envelope, _ = only(tmp_path)
    assert any("idle timeout" in e for e in envelope["errors"])
    assert sum(isinstance(f, Stall) for f in faults) == 1


@pytest.mark.parametrize("flags", [["--idle-timeout", "-1"], ["--max-retries", "-2"]])
def test_negative_idle_timeout_or_retries_is_exit_2(tmp_path: Path, flags: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, faults = run(always(Ok()), tmp_path, QUALITY, *flags)
    assert code == 2 and faults == [] and "cannot be negative" in capsys.readouterr().err
