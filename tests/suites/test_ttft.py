"""TTFTSuite: cold then warm percentiles, every TTFT definition recorded, against servers with known timing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.calibration_server import CalibrationServer
from mlx_benchmarks.suites.base import SuiteOutcome
from mlx_benchmarks.suites.ttft import TTFTSuite
from mlx_benchmarks.targets.openai_http import OpenAITarget
from tests.doubles.scripted_openai_server import Answer, DieMidStream, ScriptedOpenAIServer
from tests.measure.test_calibration_server import slack_ms
from tests.suites.test_throughput import context, valid


async def run_ttft(url: str, **options: Any) -> SuiteOutcome:
    target = OpenAITarget(url)
    await target.start()
    ctx = context(target, **options)
    try:
        return await TTFTSuite().run(ctx)
    finally:
        ctx.memory.stop()
        await target.stop()


def test_cold_then_warm_percentiles_match_the_set_ttft() -> None:
    server = CalibrationServer(ttft_ms=40, itl_ms=2)

    async def go() -> SuiteOutcome:
        await server.start()
        try:
            return await run_ttft(server.url, prompt_lengths="16,32", trials=4, warmup=1)
        finally:
            await server.close()

    outcome = asyncio.run(go())
    slack = slack_ms(server)
    valid(outcome)
    names = [r.name for r in outcome.results]
    assert names == ["ttft_ms_16_cold", "ttft_ms_16_p50", "ttft_ms_16_p90", "ttft_ms_16_p99",
                     "ttft_ms_32_p50", "ttft_ms_32_p90", "ttft_ms_32_p99"]
    by_name = {r.name: r for r in outcome.results}
    cold = by_name["ttft_ms_16_cold"]
    assert cold.tags["cold"] == "true" and cold.raw["trials"] == [cold.value] and 40 <= cold.value < 40 + slack + 50
    for name in names[1:]:
        result = by_name[name]
        assert result.unit == "ms" and 40 <= result.value < 40 + slack
        assert result.tags["cold"] == "false"
        assert len(result.raw["trials"]) == 4 and result.first_token_latency_ms == result.value
        assert float(result.tags["first_byte_ms_p50"]) < slack, "the role chunk comes at once"
        assert result.tags["first_reasoning_ms_p50"] == "not seen"
        assert result.tags["first_tool_call_ms_p50"] == "not seen"
        assert float(result.tags["first_content_ms_p50"]) == pytest.approx(by_name[name[:-3] + "p50"].value, abs=0.5)
    assert by_name["ttft_ms_16_p50"].value <= by_name["ttft_ms_16_p90"].value <= by_name["ttft_ms_16_p99"].value
    assert by_name["ttft_ms_32_p50"].tags["prompt_tokens"] == "32"


def test_reasoning_first_is_the_headline_and_content_is_recorded_beside_it() -> None:
    async def go() -> SuiteOutcome:
        async with ScriptedOpenAIServer(script=[Answer(content=["a"], reasoning=["r1", "r2"], delay_s=0.02)]) as s:
            return await run_ttft(s.url, prompt_lengths="8", trials=2, warmup=0, gen_tokens="3")

    outcome = asyncio.run(go())
    p50 = next(r for r in outcome.results if r.name == "ttft_ms_8_p50")
    first_reasoning = float(p50.tags["first_reasoning_ms_p50"])
    assert first_reasoning == pytest.approx(p50.value, abs=0.5)
    assert float(p50.tags["first_content_ms_p50"]) >= p50.value + 35, "content comes two 20 ms events later"
    assert p50.raw["first_content_ms"][0] is not None and len(p50.raw["first_reasoning_ms"]) == 2


def test_failures_are_counted_and_the_run_is_partial() -> None:
    def script(index: int, body: dict[str, Any]) -> Any:
        return DieMidStream(1) if index == 5 else Answer(content=2, delay_s=0.001)

    async def go() -> SuiteOutcome:
        async with ScriptedOpenAIServer(script=script) as server:
            return await run_ttft(server.url, prompt_lengths="8", trials=4, warmup=0, gen_tokens="2")

    outcome = asyncio.run(go())
    valid(outcome)
    assert outcome.partial and outcome.errors[0].startswith("1 of 5 measured requests failed: ")
    p50 = next(r for r in outcome.results if r.name == "ttft_ms_8_p50")
    assert p50.tags["trials"] == "3"


def test_invalid_options_are_refused() -> None:
    with pytest.raises(UsageError, match="--prompt-lengths"):
        TTFTSuite().validate_options({"prompt_lengths": "0,abc"})
