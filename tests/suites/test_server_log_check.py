"""Pairing a speed cell's requests with the server's log (suites.server_log_check), without a model."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.server_log import ServerLog
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.server_log_check import CellLog, server_log_for
from mlx_benchmarks.suites.speed_common import SpeedSuiteBase
from mlx_benchmarks.targets.base import Usage


def logged_request(second: int, tokens: int, step_ms: int = 50, prompt: int = 100) -> str:
    """One request as mlx_lm.server logs it at DEBUG: body, stream start, progress, one record per token."""
    stamp = f"2026-01-01 10:00:{second:02d}"
    lines = [f"{stamp},000 - DEBUG - Incoming Request Body: {{}}", f"{stamp},005 - DEBUG - Starting stream:",
             f"{stamp},100 - INFO - Prompt processing progress: {prompt}/{prompt}"]
    lines += [f"{stamp},{200 + i * step_ms:03d} - DEBUG - tok{i}" for i in range(tokens)]
    return "\n".join(lines) + "\n"


def completion(tokens: int, error: str | None = None) -> Completion:
    return Completion(start_ns=0, usage=Usage(prompt_tokens=100, completion_tokens=tokens), error=error)


def cell(tmp_path: Path, before: str = "") -> tuple[CellLog, Path]:
    path = tmp_path / "server.log"
    path.write_text(before)
    log = ServerLog(path)
    return CellLog(log, log.mark()), path


def test_a_cell_pairs_its_timed_trials_with_the_logged_requests(tmp_path: Path) -> None:
    check, path = cell(tmp_path, before=logged_request(0, 3))  # an earlier request: before the mark
    # warm-up at 50 ms a token, then two trials at 50 and 100 ms a token
    path.write_text(path.read_text() + logged_request(1, 9) + logged_request(2, 9) + logged_request(3, 6, 100))
    tags = check.tags([completion(9), completion(9), completion(6)], measured=[1, 2], our_decode_tps=19.0)
    # the trials' decode rates: 8 / 0.4 s = 20 and 5 / 0.5 s = 10 tok/s; the median of the two is 15
    assert tags["server_log"] == "mlx_lm.server" and tags["server_log_requests"] == 2
    assert tags["server_log_decode_tok_per_sec"] == pytest.approx(15.0)
    assert tags["server_log_ttft_ms"] == pytest.approx(200.0)
    assert tags["server_log_prompt_tok_per_sec"] == pytest.approx(500.0)
    assert tags["server_log_decode_diff_pct"] == pytest.approx(26.67, abs=0.01)
    assert tags["server_log_within_10pct"] is False


def test_agreement_within_ten_percent_is_reported_as_such(tmp_path: Path) -> None:
    check, path = cell(tmp_path)
    path.write_text(logged_request(1, 11))
    tags = check.tags([completion(11)], measured=[0], our_decode_tps=19.5)
    assert tags["server_log_decode_tok_per_sec"] == pytest.approx(20.0)
    assert tags["server_log_within_10pct"] is True


@pytest.mark.parametrize(("logged", "sent", "expected"), [
    (logged_request(1, 4), [completion(4), completion(4)], "unmatched: 1 requests logged for 2 sent"),
    (logged_request(1, 4), [completion(5)], "unmatched: token counts differ from usage at request 0"),
    (logged_request(1, 0), [completion(4)], "no per-token records (start mlx_lm.server with --log-level DEBUG)"),
])
def test_a_log_that_cannot_be_paired_says_why(tmp_path: Path, logged: str, sent: list[Completion],
                                               expected: str) -> None:
    check, path = cell(tmp_path)
    path.write_text(logged)
    assert check.tags(sent, measured=[0], our_decode_tps=10.0) == {"server_log": expected}


def test_the_flag_wins_over_a_managed_servers_log_and_a_missing_file_is_refused(tmp_path: Path) -> None:
    flagged, managed = tmp_path / "flag.log", tmp_path / "managed.log"
    flagged.write_text("")
    managed.write_text("")
    target = SimpleNamespace(server_log=ServerLog(managed))
    ctx: Any = SimpleNamespace(options={"server_log": str(flagged)}, target=target)
    log = server_log_for(ctx)
    assert log is not None and log.path == flagged
    ctx.options = {}
    assert server_log_for(ctx) is target.server_log
    ctx.target = SimpleNamespace()
    assert server_log_for(ctx) is None
    with pytest.raises(UsageError, match=r"--server-log: .*absent\.log is not a readable file"):
        SpeedSuiteBase().options({"server_log": str(tmp_path / "absent.log")})
