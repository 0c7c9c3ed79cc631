"""compare_runs and `mlx-bench compare` over runs stored by the fixture builders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fixtures.make_runs import (
    binary_scores,
    envelope,
    flip,
    noisy_trials,
    put_quality_run,
    put_speed_run,
    speed_result,
)

from mlx_benchmarks.cli.compare_cmd import markdown_destination, parse_threshold
from mlx_benchmarks.cli.main import main
from mlx_benchmarks.compare import compare_runs, latest_pair
from mlx_benchmarks.store import Store

MODEL = "Qwen3-4B-4bit"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def speed_pair(store: Store, factor: float, *, unit: str = "tok/s", noise: float = 0.02) -> tuple[str, str]:
    a = put_speed_run(store, model=MODEL, hour=1, unit=unit, trials={"decode_512": noisy_trials(100.0, noise=noise, seed=1)})
    b = put_speed_run(store, model=MODEL, hour=2, unit=unit,
                      trials={"decode_512": noisy_trials(100.0 * factor, noise=noise, seed=2)})
    return a, b


def test_two_runs_of_one_model_compare_with_intervals_and_a_verdict(store: Store) -> None:
    a, b = speed_pair(store, 1.01)
    comparison = compare_runs(store, a[:30], b, seed=0)
    assert (comparison.run_a, comparison.run_b) == (a, b)
    [row] = comparison.rows
    assert row.method == "bootstrap-median" and row.n == 10
    assert row.ci_low is not None and row.ci_high is not None
    assert row.ci_low < row.ci_high
    assert row.p_value is not None and 0 <= row.p_value <= 1
    assert row.verdict == "no change"
    assert row.rel_change == pytest.approx(row.b / row.a - 1)
    assert compare_runs(store, a, b, seed=0) == comparison  # seeded: the same interval every time


def test_planted_slowdown_fails_the_gate(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = speed_pair(store, 0.80)
    code = main(["compare", a, b, "--store", str(store.root), "--fail-on-regression"])
    captured = capsys.readouterr()
    assert code == 5
    assert "1 regression, 0 improved" in captured.out
    [line] = captured.err.strip().splitlines()
    assert line.startswith("mlx-bench: error: 1 significant regression beyond 5%: decode_512/throughput -")


def test_one_percent_jitter_passes_the_gate(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = speed_pair(store, 0.99)
    assert main(["compare", a, b, "--store", str(store.root), "--fail-on-regression"]) == 0
    assert "regression" not in capsys.readouterr().err


def test_a_small_but_real_change_is_below_the_threshold(store: Store) -> None:
    # 3% slower with almost no noise: significant, yet smaller than the 5% gate
    a, b = speed_pair(store, 0.97, noise=0.002)
    [row] = compare_runs(store, a, b).rows
    assert row.ci_high is not None and row.ci_high < 0
    assert row.verdict == "no change"
    [strict] = compare_runs(store, a, b, threshold=0.01).rows
    assert strict.verdict == "regressed"


def test_latency_is_lower_better(store: Store) -> None:
    slower_a, slower_b = speed_pair(store, 1.25, unit="ms")
    assert compare_runs(store, slower_a, slower_b).rows[0].verdict == "regressed"
    assert compare_runs(store, slower_b, slower_a).rows[0].verdict == "improved"


def test_quality_big_accuracy_drop_is_a_regression(store: Store) -> None:
    base = binary_scores(200, 160, seed=1)
    a = put_quality_run(store, model=MODEL, hour=1, tasks={"gsm8k": base})
    b = put_quality_run(store, model=MODEL, hour=2, tasks={"gsm8k": flip(base, to_wrong=34, to_right=4, seed=2)})
    [row] = compare_runs(store, a, b).rows
    assert row.method == "mcnemar-exact" and row.n == 200
    assert row.p_value is not None and row.p_value < 0.001
    assert row.a == pytest.approx(0.80) and row.b == pytest.approx(0.65)
    assert row.ci_high is not None and row.ci_high < 0
    assert row.verdict == "regressed"


def test_quality_tiny_difference_is_no_change(store: Store) -> None:
    base = binary_scores(200, 160, seed=1)
    a = put_quality_run(store, model=MODEL, hour=1, tasks={"gsm8k": base})
    b = put_quality_run(store, model=MODEL, hour=2, tasks={"gsm8k": flip(base, to_wrong=6, to_right=3, seed=3)})
    [row] = compare_runs(store, a, b, threshold=0.0).rows
    assert row.method == "mcnemar-exact"
    assert row.p_value is not None and row.p_value > 0.05
    assert row.ci_low is not None and row.ci_high is not None and row.ci_low < 0 < row.ci_high
    assert row.verdict == "no change"


def test_graded_scores_use_the_paired_bootstrap(store: Store) -> None:
    base = [0.5 + 0.4 * ((i * 37) % 11) / 10 for i in range(120)]
    a = put_quality_run(store, model=MODEL, hour=1, tasks={"rouge": base})
    b = put_quality_run(store, model=MODEL, hour=2, tasks={"rouge": [s - 0.2 for s in base]})
    [row] = compare_runs(store, a, b).rows
    assert row.method == "paired-bootstrap" and row.p_value is None
    assert row.verdict == "regressed"


def test_samples_pair_per_metric_and_skip_errored_ones(store: Store) -> None:
    def run(hour: int, f1_shift: float, errors: set[int]) -> str:
        samples, n = [], 150
        for i in range(n):
            exact = 1.0 if i % 3 else 0.0
            f1 = min(1.0, max(0.0, 0.2 + 0.6 * exact + f1_shift))
            samples.append({"key": f"squad/{i}/0", "task": "squad", "id": str(i), "sample_index": 0, "score": exact,
                            "scores": {"exact_match": exact, "f1": f1}, "error": "timeout" if i in errors else None})
        ok = [s for s in samples if not s["error"]]
        results = [{"name": "squad", "metric": m, "unit": "ratio", "value": sum(s["scores"][m] for s in ok) / len(ok),
                    "tags": {"higher_is_better": "true"}} for m in ("exact_match", "f1")]
        return store.put(envelope(suite="knowledge", model=MODEL, hour=hour, results=results), samples).run_id

    a, b = run(1, 0.0, set()), run(2, -0.15, {3, 4, 5})
    rows = {r.metric: r for r in compare_runs(store, a, b).rows}
    assert rows["exact_match"].n == rows["f1"].n == 147  # errored samples of B are not paired
    assert rows["exact_match"].method == "mcnemar-exact" and rows["exact_match"].verdict == "no change"
    assert rows["f1"].method == "paired-bootstrap" and rows["f1"].verdict == "regressed"


def test_without_trials_or_samples_there_are_no_error_bars(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    halved = {"name": "load_time", "metric": "latency", "value": 2.0, "unit": "seconds"}
    a = put_speed_run(store, model=MODEL, hour=1, trials={}, extra=[{**halved, "value": 1.0}])
    b = put_speed_run(store, model=MODEL, hour=2, trials={}, extra=[halved])
    [row] = compare_runs(store, a, b).rows
    assert (row.verdict, row.method, row.ci_low) == ("no error bars", "none", None)
    assert row.rel_change == pytest.approx(1.0)
    assert main(["compare", a, b, "--store", str(store.root), "--fail-on-regression"]) == 0
    assert "without error bars" in capsys.readouterr().out


def test_results_only_in_one_run_are_listed_not_compared(store: Store) -> None:
    a = put_speed_run(store, model=MODEL, hour=1, trials={"decode": noisy_trials(50, seed=1)})
    b = put_speed_run(store, model=MODEL, hour=2, trials={"prefill": noisy_trials(50, seed=2)},
                      extra=[speed_result("decode", noisy_trials(50, seed=3))])
    comparison = compare_runs(store, a, b)
    assert [r.name for r in comparison.rows] == ["decode"]
    assert comparison.only_b == ["prefill/throughput"] and comparison.only_a == []


def test_unknown_run_id_is_a_one_line_usage_error(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = speed_pair(store, 1.0)
    assert main(["compare", a, "run-nope", "--store", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run-nope" in err


def test_latest_selects_the_two_newest_matching_runs(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    old = put_speed_run(store, model=MODEL, hour=1, trials={"decode": noisy_trials(100, seed=1)})
    mid = put_speed_run(store, model=MODEL, hour=2, trials={"decode": noisy_trials(100, seed=2)})
    new = put_speed_run(store, model=MODEL, hour=3, trials={"decode": noisy_trials(70, seed=3)})
    put_speed_run(store, model="other-model", hour=4, trials={"decode": noisy_trials(10, seed=4)})
    assert latest_pair(store, model=MODEL, suite="throughput") == (mid, new)
    assert latest_pair(store, model=MODEL, latest=3) == (old, new)
    # a substring matching two models: the baseline is of the newest run's own model, never another
    put_speed_run(store, model=MODEL + "-v2", hour=5, trials={"decode": noisy_trials(100, seed=5)})
    put_speed_run(store, model=MODEL + "-v2", hour=6, trials={"decode": noisy_trials(100, seed=6)})
    v2_old, v2_new = latest_pair(store, model="qwen3-4b")
    assert store.envelope(v2_old)["model"] == store.envelope(v2_new)["model"] == MODEL + "-v2"
    assert latest_pair(store, model=MODEL) == (mid, new)  # the exact name wins over the substring
    code = main(["compare", "--model", MODEL, "--suite", "throughput", "--latest", "2", "--json",
                 "--store", str(store.root), "--fail-on-regression"])
    out = capsys.readouterr()
    assert code == 5
    document = json.loads(out.out)
    assert (document["run_a"], document["run_b"], document["regressions"]) == (mid, new, 1)
    assert main(["compare", "--model", "absent", "--store", str(store.root)]) == 2


def test_markdown_file_and_step_summary(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = speed_pair(store, 0.8)
    target = tmp_path / "comment.md"
    assert main(["compare", a, b, "--store", str(store.root), "--markdown", str(target)]) == 0
    text = target.read_text()
    assert text.startswith(f"### mlx-bench compare: {MODEL} · throughput")
    assert f"`{a}`" in text and "| decode_512 | throughput |" in text and "🔴 regressed" in text
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["compare", a, b, "--store", str(store.root), "--markdown"]) == 0
    written = summary.read_text()
    assert written.startswith("earlier step\n") and "🔴 regressed" in written


def test_markdown_destination_and_threshold_parsing() -> None:
    assert markdown_destination("", {"GITHUB_STEP_SUMMARY": "/x/summary"}) == "/x/summary"
    assert markdown_destination("", {}) is None
    assert markdown_destination("-", {"GITHUB_STEP_SUMMARY": "/x"}) is None
    assert markdown_destination("out.md", {}) == "out.md"
    assert parse_threshold("5%") == pytest.approx(0.05)
    assert parse_threshold("0.1") == pytest.approx(0.1)
    with pytest.raises(Exception, match="ambiguous"):
        parse_threshold("5")
