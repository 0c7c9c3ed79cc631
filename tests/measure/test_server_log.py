"""The mlx_lm.server log parser, on a log the real server wrote (tests/fixtures/server_logs) and edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.server_log import ServerLog, parse_mlx_lm_log

REAL_LOG = Path(__file__).parents[1] / "fixtures" / "server_logs" / "mlx_lm_server_0.32.2_debug.log"


def test_a_real_debug_log_gives_each_request_its_tokens_and_prompt() -> None:
    streamed, plain = parse_mlx_lm_log(REAL_LOG.read_text())
    # the streamed request asked for 24 tokens, the plain one for 5 (its response in the log says so too)
    assert (streamed.output_tokens, plain.output_tokens) == (24, 5)
    assert (streamed.prompt_tokens_processed, plain.prompt_tokens_processed) == (40, 9)
    assert streamed.generating and plain.generating
    # 13:43:44,684 received, 13:43:45,136 first token, 13:43:46,782 last token
    assert streamed.ttft_ms == pytest.approx(452.0, abs=0.01)
    assert streamed.decode_tps == pytest.approx(23 / 1.646, rel=1e-6)
    assert streamed.prompt_tps == pytest.approx(40 / 0.452, rel=1e-6)
    assert plain.decode_tps == pytest.approx(4 / 0.265, rel=1e-6), "the Outgoing Response record is no token"


def test_tokens_with_newlines_access_log_lines_and_empty_tokens_count_once() -> None:
    log = "\n".join([
        "2026-01-01 10:00:00,000 - DEBUG - Incoming Request Body: {",
        '\t"stream": true',
        "}",
        '127.0.0.1 - - [01/Jan/2026 10:00:00] "POST /v1/chat/completions HTTP/1.1" 200 -',
        "2026-01-01 10:00:00,010 - DEBUG - Starting stream:",
        "2026-01-01 10:00:00,100 - INFO - Prompt processing progress: 7/8",
        "2026-01-01 10:00:00,150 - INFO - Prompt processing progress: 8/8",
        "2026-01-01 10:00:00,200 - DEBUG - Hello",
        "2026-01-01 10:00:00,300 - DEBUG - ",  # a token whose text is two newlines
        "",
        "",
        "2026-01-01 10:00:00,400 - DEBUG -",  # an empty token (end of sequence), no trailing space
    ])
    (request,) = parse_mlx_lm_log(log)
    assert request.output_tokens == 3
    assert request.decode_tps == pytest.approx(2 / 0.2)
    assert request.ttft_ms == pytest.approx(200.0)


def test_records_before_any_request_and_requests_without_tokens() -> None:
    log = ("2026-01-01 10:00:00,000 - INFO - Starting httpd at 127.0.0.1 on port 8080...\n"
           "2026-01-01 10:00:00,000 - DEBUG - stray record\n"
           "2026-01-01 10:00:01,000 - DEBUG - Incoming Request Body: {}\n")
    (request,) = parse_mlx_lm_log(log)
    assert not request.generating and request.output_tokens == 0
    assert request.ttft_ms is None and request.decode_tps is None and request.prompt_tps is None


def test_a_log_read_from_a_mark_sees_only_what_came_after(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    text = REAL_LOG.read_text()
    split = text.index("2026-11-27 13:43:46,796")
    path.write_text(text[:split])
    log = ServerLog(path)
    mark = log.mark()
    with path.open("a") as handle:
        handle.write(text[split:])
    (plain,) = log.requests_since(mark)
    assert plain.output_tokens == 5
    path.write_text(text[split:])  # rotated: shorter than the mark, read from the start
    assert [r.output_tokens for r in log.requests_since(mark)] == [5]


def test_a_missing_log_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a readable file"):
        ServerLog(tmp_path / "absent.log")
