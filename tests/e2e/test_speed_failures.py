"""Runs under failing servers (speed suites mostly), through the CLI against the fault server (tests/doubles/fault_server.py).

A dead target stops a speed run as it stops a quality run (exit 6, nothing stored); a partial speed run says
per result how many measured requests failed, and a result over ``--max-error-rate`` is tagged invalid and left
out of compare and trend unless asked. Counts are measured requests only; warm-ups are counted apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_NO_MEASUREMENT, EXIT_OK
from mlx_benchmarks.store import Store
from mlx_benchmarks.views import Filters, ViewSource, leaderboard
from tests.doubles.fault_server import Die, Fault, FaultServer, Ok, Plan, Status, always, every_nth

QUICK = ["--git-sha", "abcdef0"]
SPEED = ["throughput", "--prompt-lengths", "8", "--gen-tokens", "4", "--trials", "3", "--warmup", "1",
         "--no-client-check"]
TIMED = Ok(delay_s=0.003)  # tokens in separate reads, so decode time is measurable
PROBES = 2  # the prompt-length calibration's probes, sent before any timed request


def run(plan: Plan, store: Path, *extra: str) -> tuple[int, list[Fault]]:
    with FaultServer(plan).in_thread() as server:
        code = main(["run", *SPEED, "--target", server.url, "--store", str(store), *QUICK, *extra])
        return code, list(server.faults)


def only(store: Path) -> dict[str, Any]:
    (run_id,) = Store(store).run_ids()
    return Store(store).envelope(run_id)


def test_a_server_killed_mid_throughput_run_is_exit_6_and_nothing_is_stored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    levels = ["--concurrency", "2,4", "--request-rate", "50"]
    _, clean = run(always(TIMED), tmp_path / "clean", *levels)
    # the server dies at its 7th request (in the first concurrency level): new connections are refused
    code, faults = run(lambda index, attempt: Die() if index == PROBES + 4 else TIMED, tmp_path, *levels)
    assert code == EXIT_NO_MEASUREMENT
    assert Store(tmp_path).run_ids() == [], "a run stopped early is never stored as finished over a subset"
    err = capsys.readouterr().err
    assert "stopped after 8 consecutive failed requests" in err and "cannot reach" in err, err
    # keep-alive connections opened before it died may still be answered; nothing like a whole run is sent
    assert len(faults) < len(clean) / 2, (len(faults), len(clean))


def test_every_request_answered_500_stops_at_the_limit_not_after_the_whole_grid(tmp_path: Path) -> None:
    code, faults = run(always(Status(500)), tmp_path, "--prompt-lengths", "8,16,32", "--concurrency", "2",
                       "--max-consecutive-failures", "5")
    assert code == EXIT_NO_MEASUREMENT and Store(tmp_path).run_ids() == []
    assert len(faults) == PROBES + 5  # before: every one of the grid's and the level's requests was sent


def test_a_partial_speed_run_counts_measured_requests_and_marks_invalid_levels(tmp_path: Path) -> None:
    # every 4th request fails, and the cell's warm-up (the first request after the probes)
    busy = every_nth(4, Status(500, "busy"), TIMED)
    code, _ = run(lambda index, attempt: Status(500, "busy") if index == PROBES else busy(index, attempt),
                  tmp_path, "--concurrency", "2")
    assert code == EXIT_OK
    envelope = only(tmp_path)
    by_name = {r["name"]: r["tags"] for r in envelope["results"]}
    level = by_name["concurrency_2_requests_per_sec"]
    measured, failed = int(level["measured_requests"]), int(level["failed_requests"])
    assert measured == 12 and 0 < failed < measured
    assert float(level["error_rate"]) == pytest.approx(failed / measured, abs=1e-4)
    assert level["valid"] == "false" and "--max-error-rate" in level["invalid_reason"]
    cell = by_name["tok_per_sec_8"]
    assert cell["warmup_requests"] == "1" and cell["measured_requests"] == "3"
    # one definition everywhere: the errors[] line and the partial-run note count the same requests
    samples = Store(tmp_path).samples(Store(tmp_path).run_ids()[0])
    kept = [s for s in samples if not s.get("excluded")]
    total_failed = sum(1 for s in kept if s["error"])
    assert f"{total_failed} of {len(kept)} measured requests failed: HTTP 500:" in envelope["errors"][0]
    assert f"partial run: {len(kept)} samples tried, {total_failed} failed, 0 never tried" in envelope["errors"]
    assert any(e.startswith("warm-up: 1 of 1 requests failed") for e in envelope["errors"]), envelope["errors"]


def test_a_level_with_no_result_says_so(tmp_path: Path) -> None:
    # the cell's 4 requests answer; every request of the level fails (the limit raised so the run goes on)
    code, _ = run(lambda index, attempt: TIMED if index < PROBES + 4 else Status(500), tmp_path,
                  "--concurrency", "2", "--max-consecutive-failures", "100")
    assert code == EXIT_OK
    envelope = only(tmp_path)
    assert not any(r["name"].startswith("concurrency_2") for r in envelope["results"])
    assert any(e.startswith("concurrency_2: no result: 12 of 12 requests failed (HTTP 500") for e in envelope["errors"])


def test_max_error_rate_decides_what_is_valid(tmp_path: Path) -> None:
    code, _ = run(every_nth(4, Status(500), TIMED), tmp_path, "--concurrency", "2", "--max-error-rate", "50")
    assert code == EXIT_OK
    assert {r["tags"]["valid"] for r in only(tmp_path)["results"]} == {"true"}


def test_invalid_results_are_left_out_of_compare_trend_and_the_leaderboard_unless_asked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(always(TIMED), tmp_path, "--concurrency", "2")[0] == EXIT_OK
    # two of the level's 12 requests fail (the cell's 4 come first, after the probes): the cell stays valid
    level_fails = {PROBES + 5, PROBES + 9}
    assert run(lambda index, attempt: Status(500) if index in level_fails else TIMED, tmp_path,
               "--concurrency", "2")[0] == EXIT_OK
    capsys.readouterr()
    store = ["--store", str(tmp_path)]
    assert main(["compare", "--latest", "2", "--json", *store]) == EXIT_OK
    left_out = json.loads(capsys.readouterr().out)
    names = {row["name"] for row in left_out["rows"]}
    assert "concurrency_2_requests_per_sec" not in names
    assert any("concurrency_2_requests_per_sec" in u["key"] and "invalid" in u["reason"]
               for u in left_out["unpaired"])
    assert main(["compare", "--latest", "2", "--json", "--include-invalid", *store]) == EXIT_OK
    assert "concurrency_2_requests_per_sec" in {row["name"] for row in json.loads(capsys.readouterr().out)["rows"]}
    assert main(["trend", "--all", "--json", "--metric", "concurrency_2_requests_per_sec", *store]) == EXIT_OK
    (series,) = json.loads(capsys.readouterr().out)
    assert len(series["run_ids"]) == 1
    assert main(["trend", "--all", "--json", "--include-invalid", "--metric", "concurrency_2_requests_per_sec",
                 *store]) == EXIT_OK
    (series,) = json.loads(capsys.readouterr().out)
    assert len(series["run_ids"]) == 2
    # the leaderboard: the newest *valid* result of the level, unless asked
    clean, faulty = sorted(Store(tmp_path).run_ids())
    for include, expected in ((False, clean), (True, faulty)):
        (board,) = leaderboard(ViewSource(Store(tmp_path)), Filters(suite="throughput"),
                               name="concurrency_2_requests_per_sec", metric="throughput", include_invalid=include)
        assert [row["run_id"] for row in board["rows"]] == [expected]


def test_a_dead_target_stops_load_sent_from_client_processes(tmp_path: Path) -> None:
    # the level's load comes from 2 worker processes: their results reach the watch when the round ends
    code, faults = run(always(Status(500)), tmp_path, "--concurrency", "4", "--client-processes", "2")
    assert code == EXIT_NO_MEASUREMENT and Store(tmp_path).run_ids() == []
    assert len(faults) == PROBES + 4 + 8, "the cell's 4, then the level's first round; never its other two"


def test_the_same_flag_stops_a_quality_run(tmp_path: Path) -> None:
    with FaultServer(always(Status(500))).in_thread() as server:
        code = main(["run", "reasoning", "--limit", "5", "--concurrency", "1", "--target", server.url,
                     "--store", str(tmp_path), *QUICK, "--max-consecutive-failures", "3"])
        assert code == EXIT_NO_MEASUREMENT and len(server.faults) == 3  # before: 8 at least, whatever was asked


def test_the_ttft_suite_stops_too(tmp_path: Path) -> None:
    with FaultServer(always(Status(500))).in_thread() as server:
        code = main(["run", "ttft", "--prompt-lengths", "8,16,32", "--trials", "5", "--no-client-check", "--target",
                     server.url, "--store", str(tmp_path), *QUICK, "--max-consecutive-failures", "4"])
        sent = len(server.faults)
    assert code == EXIT_NO_MEASUREMENT and Store(tmp_path).run_ids() == []
    assert sent <= 1 + PROBES + 4, sent  # the cold request, the probes, then 4 in a row; not all 18


@pytest.mark.parametrize("flags", [["--max-consecutive-failures", "0"], ["--max-error-rate", "101"],
                                   ["--max-buffered-mb", "-1"], ["--max-response-mb", "x"]])
def test_bad_failure_and_budget_flags_are_exit_2(tmp_path: Path, flags: list[str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", *SPEED, "--target", "http://127.0.0.1:9/v1", "--store", str(tmp_path), *flags]) == 2
    assert "Traceback" not in capsys.readouterr().err
