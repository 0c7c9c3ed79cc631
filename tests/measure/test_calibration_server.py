"""The timing definitions measured against the calibration server, whose delays are the truth."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mlx_benchmarks.measure.calibration_server import CalibrationServer, SpawnedCalibrationServer
from mlx_benchmarks.measure.load import run_load, send, summarise
from mlx_benchmarks.measure.stats import median
from mlx_benchmarks.measure.timing import decode_tps
from mlx_benchmarks.targets.base import ChatRequest
from mlx_benchmarks.targets.openai_http import OpenAITarget

TOLERANCE_MS = 15.0  # lower bounds are strict; upper ones allow for a busy machine (see slack_ms)


def request(tokens: int, **extra: float) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": "a b c d"}], max_tokens=tokens, extra_body=extra)


def slack_ms(server: CalibrationServer) -> float:
    """Tolerance above the set delays: fixed, plus how late the server itself was (a descheduled process
    delays its server and its client alike, which no client can be blamed for)."""
    return TOLERANCE_MS + (server.stats()["first_token_lateness_ms"]["p99"] or 0.0)


SERVERS: list[CalibrationServer] = []


async def measure(server_kw: dict[str, Any], tokens: int, n: int) -> list[Any]:
    server = CalibrationServer(**server_kw)
    SERVERS.append(server)
    await server.start()
    target = OpenAITarget(server.url)
    await target.start()
    try:
        await send(target, request(tokens))  # connection set-up
        return [await send(target, request(tokens)) for _ in range(n)]
    finally:
        await target.stop()
        await server.close()


def test_ttft_itl_and_decode_rate_match_the_set_delays() -> None:
    completions = asyncio.run(measure({"ttft_ms": 50, "itl_ms": 10}, tokens=6, n=5))
    slack = slack_ms(SERVERS[-1])
    assert all(c.ok for c in completions)
    ttft = median([c.ttft_ms for c in completions])
    assert ttft is not None and 50 <= ttft < 50 + slack, "the role chunk sent at once is not the first token"
    first_bytes = [(c.first_byte_ns - c.start_ns) / 1e6 for c in completions]
    assert max(first_bytes) < 25, "first byte (the role chunk) comes long before the first token"
    itl = median([x for c in completions for x in c.itl_ms()])
    assert itl is not None and 10 - 1 <= itl < 10 + slack
    rates = [decode_tps(c.usage.completion_tokens, c.first_token_ns, c.token_times_ns[-1]) for c in completions]
    assert 100.0 * 10 / (10 + slack) <= median([r for r in rates if r]) <= 110, "5 gaps of 10 ms: 100 tok/s"
    assert all(c.usage.prompt_tokens == 4 and c.usage.completion_tokens == 6 for c in completions)


def test_reasoning_tokens_count_for_ttft_but_not_first_content() -> None:
    completions = asyncio.run(measure({"ttft_ms": 20, "itl_ms": 15, "reasoning_tokens": 2}, tokens=4, n=3))
    slack = slack_ms(SERVERS[-1])
    for c in completions:
        assert c.first_token_ns == c.first_reasoning_ns
        gap = (c.first_content_ns - c.first_reasoning_ns) / 1e6
        assert 30 - 1 <= gap < 30 + 2 * slack, "two reasoning tokens 15 ms apart come first"


def test_concurrency_sweep_percentiles_and_rates() -> None:
    async def go() -> tuple[Any, float]:
        server = CalibrationServer(ttft_ms=30, itl_ms=5)
        await server.start()
        target = OpenAITarget(server.url)
        await target.start()
        try:
            result = await run_load(target, lambda i: request(8), n_requests=16, concurrency=4)
        finally:
            await target.stop()
            await server.close()
        return result, slack_ms(server)

    result, slack = asyncio.run(go())
    summary = summarise(result)
    assert summary.requests_ok == 16 and summary.requests_failed == 0 and summary.output_tokens == 16 * 8
    assert 30 <= summary.ttft_ms["p50"] < 30 + slack and summary.ttft_ms["p99"] >= summary.ttft_ms["p50"]
    assert 4 <= summary.itl_ms["p50"] < 5 + slack and 4 <= summary.tpot_ms["p50"] < 5 + slack
    # each request takes ~30 + 7 * 5 = 65 ms, four in flight: about 16 / (4 * 0.065) = 61 req/s at best
    assert summary.requests_per_s <= 62 and summary.output_tps == pytest.approx(summary.requests_per_s * 8)
    assert 65 <= summary.e2e_ms["p50"] < 65 + 2 * slack


def test_spawned_server_serves_then_stops() -> None:
    async def go(url: str) -> None:
        target = OpenAITarget(url)
        await target.start()
        for _ in range(3):
            assert (await send(target, request(2, calibration_ttft_ms=10, calibration_itl_ms=1))).ok
        await target.stop()

    with SpawnedCalibrationServer() as server:
        asyncio.run(go(server.url))
        process = server.process
    assert process is not None and process.poll() is not None, "stopped on leaving the block"
