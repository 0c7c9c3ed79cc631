"""Chart data from one run's results: the throughput grid and the rate sweep, from the names the suites write."""

from __future__ import annotations

from mlx_benchmarks.report.run_charts import sweep_points, throughput_cells
from tests.dashboard.reader_store import (
    CAPACITY,
    GENS,
    PROMPTS,
    RATES,
    decode_tps,
    grid_results,
    sweep_results,
    ttft_ms,
)


def test_throughput_cells_one_per_prompt_and_gen_length() -> None:
    cells = throughput_cells([r.to_json() for r in grid_results()])
    assert [(c["gen_tokens"], c["prompt_tokens"]) for c in cells] == [(g, p) for g in GENS for p in PROMPTS]
    first = cells[0]
    assert first["decode_tps"] == decode_tps(PROMPTS[0], GENS[0]) and first["ttft_ms"] == ttft_ms(PROMPTS[0])
    assert len(first["trials_decode_tps"]) == 3 and len(first["trials_ttft_ms"]) == 3


def test_sweep_points_offered_achieved_and_latency() -> None:
    results = [r.to_json() for r in sweep_results()]
    points = sweep_points(results)
    assert [p["offered"] for p in points] == list(RATES)
    assert [p["achieved"] for p in points] == [min(r, CAPACITY) for r in RATES]
    assert [p["keeps_up"] for p in points] == [r <= CAPACITY for r in RATES]
    assert points[-1]["latency"]["e2e_p99"] == 900.0 * 1.6 * (1 + RATES[-1])
    assert throughput_cells(results) == []  # a sweep's throughput results are not grid cells
    level = {"name": "concurrency_4_output_tok_per_sec", "metric": "throughput", "value": 90.0, "unit": "tok/s",
             "decode_tokens_per_second": 90.0, "tags": {"prompt_tokens_requested": "512", "gen_tokens_requested": "128"}}
    assert throughput_cells([level]) == []  # a load level has the grid's length tags but is no grid cell


def test_plain_rate_levels_and_other_runs() -> None:
    rate = {"name": "rate_2.5_requests_per_sec", "metric": "throughput", "value": 2.4, "unit": "req/s",
            "tags": {"request_rate": "2.5", "keeps_up": "unknown"}}
    assert sweep_points([rate]) == [{"label": "rate_2.5", "offered": 2.5, "achieved": 2.4, "keeps_up": None, "latency": {}}]
    assert sweep_points([{"name": "decode_tps", "metric": "throughput", "value": 1.0, "unit": "tok/s"}]) == []
