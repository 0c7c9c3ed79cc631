"""The ttft suite's --percentiles: the chosen ones, computed as numpy does, with the spread beside them."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.calibration_server import CalibrationServer
from mlx_benchmarks.suites.base import SuiteOutcome
from mlx_benchmarks.suites.ttft import TTFTSuite
from tests.suites.test_ttft import run_ttft


def test_chosen_percentiles_replace_the_default_ones() -> None:
    server = CalibrationServer(ttft_ms=10, itl_ms=1)

    async def go() -> SuiteOutcome:
        await server.start()
        try:
            return await run_ttft(server.url, prompt_lengths="8", trials=6, warmup=0, percentiles="50,95,99.9")
        finally:
            await server.close()

    outcome = asyncio.run(go())
    warm = {r.name: r for r in outcome.results if not r.name.endswith("_cold")}
    assert sorted(warm) == ["ttft_ms_8_p50", "ttft_ms_8_p95", "ttft_ms_8_p99.9"]
    values = warm["ttft_ms_8_p50"].raw["trials"]
    for q in (50, 95, 99.9):
        result = warm[f"ttft_ms_8_p{q:g}"]
        assert result.value == pytest.approx(float(np.percentile(values, q)), abs=1e-3)
        assert result.tags["percentile"] == f"p{q:g}"
    tags = warm["ttft_ms_8_p50"].tags
    assert float(tags["stddev"]) == pytest.approx(float(np.std(values, ddof=1)), abs=1e-3)
    assert float(tags["trial_min"]) == min(values) and float(tags["trial_max"]) == max(values)


def test_bad_percentiles_are_refused() -> None:
    with pytest.raises(UsageError, match="--percentiles: 100 is not between 0 and 100"):
        TTFTSuite().validate_options({"percentiles": "50,100"})
