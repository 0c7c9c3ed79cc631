"""``mlx-bench compare`` as a llama-bench user reads it (#20): results by their readable names, no word broken
at 80 columns, and pp / tg / TTFT side by side with a speed-up column (llama.cpp's compare-llama-bench.py)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from tests.cli.rendering import envelope, golden
from tests.cli.test_runs_show_formats import cli

from mlx_benchmarks.store import Store
from mlx_benchmarks.views.speed_compare import speed_comparison


def faster(document: dict, factor: float) -> dict:
    """The same grid run a minute later, every rate ``factor`` times higher and every TTFT that much lower."""
    out = copy.deepcopy(document)
    out["timestamp"] = out["timestamp"].replace(":41Z", ":59Z")
    for result in out["results"]:
        for key in ("value", "prompt_tokens_per_second", "decode_tokens_per_second"):
            result[key] = round(result[key] * factor, 4)
        result["first_token_latency_ms"] = round(result["first_token_latency_ms"] / factor, 4)
        trials = (result.get("raw") or {}).get("trials")
        if isinstance(trials, list):
            result["raw"]["trials"] = [round(t * factor, 4) for t in trials]
    return out


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, str, str]:
    store = Store(tmp_path / "store")
    base = envelope("throughput_grid")
    a = store.put(base).run_id
    b = store.put(faster(base, 1.25)).run_id
    return tmp_path / "store", a, b


@pytest.mark.parametrize("width", [80, 120])
def test_compare_table_matches_the_expected_text(pair: tuple[Path, str, str], width: int,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store, a, b = pair
    code, out, _ = cli(capsys, monkeypatch, "compare", a, b, "--store", str(store), width=width)
    assert code == 0
    assert out == golden(f"compare.{width}.txt", out)
    body = out.split("\n", 2)[2]  # under the two id lines, which never wrap
    assert max(len(line) for line in body.splitlines()) <= width
    assert "decode tok/s" in out and "tok_per_sec" not in out  # the reader's name, not the stored one
    if width == 120:
        assert "decode tok/s at 128 prompt tokens, 32 generated" in out
    assert "pp128 t/s" in out and "tg32 t/s" in out and "TTFT ms" in out and "speed-up" in out


def test_speed_up_is_faster_above_one_for_rates_and_latencies() -> None:
    base = envelope("throughput_grid")
    section = speed_comparison(base, faster(base, 1.25))
    assert section is not None and section.columns == ("test", "A", "B", "speed-up")
    tests = [row[0] for row in section.rows]
    assert tests[:3] == ["pp128 t/s (pp128+tg32)", "tg32 t/s (pp128+tg32)", "TTFT ms (pp128+tg32)"]
    assert len(tests) == 3 * len(base["results"])
    assert {row[3] for row in section.rows} == {"1.25"}  # a TTFT 1.25x lower is a 1.25x speed-up too
    assert speed_comparison(envelope("reasoning"), envelope("reasoning")) is None
