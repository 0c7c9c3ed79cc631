"""An imported lm-eval score and a native one of the same task pair where they measure the same thing, and
compare says why where they do not; results stored under former names are read under the current ones.

The native run is a real one (``mlx-bench run reasoning --scoring loglikelihood --tasks arc_easy --limit 2`` on
the embedded model, kept in tests/fixtures/upstream_converters/native/); the old-name envelopes are what
``mlx-bench import`` stored before it took the seed converter's names (.../old_store/).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.compare.config_key import with_config_sql
from mlx_benchmarks.compare.names import current_name, with_current_names_sql
from mlx_benchmarks.compare.trend import load_series
from mlx_benchmarks.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONVERTERS = FIXTURES / "upstream_converters"
NATIVE = json.loads((CONVERTERS / "native" / "loglikelihood.json").read_text(encoding="utf-8"))
ARC_EASY = CONVERTERS / "inputs" / "lm_eval_arc_easy_0shot.json"
IN_PROCESS = ("weights_layout", "device", "compute_dtype", "blas")  # what only an in-process MLX run records


def old(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CONVERTERS / "old_store" / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def over_a_server_every_record() -> dict[str, Any]:
    """The native run as a run against an OpenAI-compatible server over every record records it: no in-process
    facts (layout, device, quantization), ``n_limit`` all."""
    results = [{**r, "tags": {**{k: v for k, v in r["tags"].items() if k not in IN_PROCESS
                                 and not k.startswith("mlx_")}, "n_limit": "all"}} for r in NATIVE["results"]]
    return {**{k: v for k, v in NATIVE.items() if k != "quantization"}, "results": results}


def cli(args: list[str], store: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([*args, "--store", str(store)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def imported(path: Path, store: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code, out, err = cli(["import", "--kind", "lm-eval", str(path), "--suite", "reasoning",
                          "--model", NATIVE["model"], *extra], store, capsys)
    assert code == 0, err
    return out.split("stored: ", 1)[1].split(" ", 1)[0]


def test_an_imported_lm_eval_arc_easy_pairs_with_a_native_loglikelihood_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    native = Store(store).put(over_a_server_every_record()).run_id
    lm_eval = imported(ARC_EASY, store, capsys)
    code, out, err = cli(["compare", native, lm_eval, "--format", "json"], store, capsys)
    assert code == 0, err
    document = json.loads(out)
    rows = {(r["name"], r["metric"]): r for r in document["rows"]}
    assert set(rows) == {("arc_easy", "accuracy"), ("arc_easy", "accuracy_normalized")}  # native acc / acc_norm
    assert rows[("arc_easy", "accuracy")]["b"] == pytest.approx(0.6414141414141414)
    assert rows[("arc_easy", "accuracy")]["config"] == {
        "dataset": "arc_easy_rc0", "limit": "all", "scoring": "loglikelihood", "num_fewshot": "0",
        "reference": "lm-eval 0.4 multiple_choice acc (= OLMES acc_raw)"}
    assert sorted(document["only_a"]) == ["arc_easy/acc_per_char", "arc_easy/acc_per_token"]  # OLMES' own
    # the same pair in trend's series and the views' rows: one configuration for both runs
    series = [s for s in load_series(Store(store)) if s.metric == "accuracy"]
    assert len(series) == 1 and len(series[0].run_ids) == 2
    with duckdb.connect() as con:
        found = con.sql(f"SELECT name, metric, count(DISTINCT config) AS n, count(*) AS runs "
                        f"FROM ({with_config_sql(repr(Store(store).glob('results')))}) "
                        f"WHERE metric LIKE 'accuracy%' GROUP BY ALL ORDER BY metric").fetchall()
    assert found == [("arc_easy", "accuracy", 1, 2), ("arc_easy", "accuracy_normalized", 1, 2)]


def test_where_they_measure_different_things_compare_says_why(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    native = Store(store).put(NATIVE).run_id  # in process, MLX, 2 seeded questions
    lm_eval = imported(ARC_EASY, store, capsys)
    code, _, err = cli(["compare", native, lm_eval], store, capsys)
    assert code == 2 and err.count("\n") == 1
    assert "arc_easy/accuracy: quantization Q4_1 (dequantized to float32) vs (not recorded)" in err
    assert "limit 2 vs all, seed 1234 vs (not recorded)" in err and "weights_layout float32 vs (not recorded)" in err
    ignored = "quantization,weights_layout,device,compute_dtype,blas,limit,seed"
    code, out, _ = cli(["compare", native, lm_eval, "--ignore-config", ignored, "--json"], store, capsys)
    assert code == 0 and len(json.loads(out)["rows"]) == 2
    # five shots in lm-eval are not OLMES' five shots: no dataset of ours is claimed, and compare says so
    five = json.loads(ARC_EASY.read_text(encoding="utf-8"))
    five["n-shot"]["arc_easy"] = five["configs"]["arc_easy"]["num_fewshot"] = 5
    (tmp_path / "five.json").write_text(json.dumps(five), encoding="utf-8")
    five_shot = imported(tmp_path / "five.json", store, capsys)
    server = Store(store).put(over_a_server_every_record()).run_id
    code, _, err = cli(["compare", server, five_shot], store, capsys)
    assert code == 2 and "arc_easy/accuracy: dataset arc_easy_rc0 vs (not recorded), num_fewshot 0 vs 5" in err


def test_results_stored_under_former_names_are_read_under_the_current_ones(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    before = Store(store).put(old("import_lm_eval")).run_id
    after = imported(FIXTURES / "imports" / "lm_eval_results.json", store, capsys, "--git-sha", "0b1c2d3e4f5a")
    names = {(s.name, s.metric) for s in load_series(Store(store))}
    assert names == {("gsm8k_cot_zeroshot", "exact_match_strict"), ("gsm8k_cot_zeroshot", "exact_match_flexible"),
                     ("arc_challenge", "accuracy"), ("arc_challenge", "accuracy_normalized")}
    # the old import recorded no scoring method: a difference compare names, and pairs across on request
    code, _, err = cli(["compare", before, after], store, capsys)
    assert code == 2 and "arc_challenge/accuracy: subset (not recorded) vs first, scoring (not recorded) vs loglikelihood" in err
    code, out, _ = cli(["compare", before, after, "--ignore-config", "scoring,subset,reference,gen_kwargs", "--json"],
                       store, capsys)
    rows = json.loads(out)["rows"]
    assert code == 0 and {(r["name"], r["metric"]) for r in rows} == {
        ("gsm8k_cot_zeroshot", "exact_match_strict"), ("gsm8k_cot_zeroshot", "exact_match_flexible"),
        ("arc_challenge", "accuracy"), ("arc_challenge", "accuracy_normalized")}
    assert all(r["abs_change"] == 0 for r in rows)  # the same file, read twice
    vllm = Store(store).put(old("import_vllm")).run_id
    with duckdb.connect() as con:
        found = set(con.sql(f"SELECT name, metric FROM ({with_config_sql(repr(Store(store).glob('results')))}) "
                            f"WHERE run_id = '{vllm}'").fetchall())
    assert {("benchmark_serving", "throughput_output_toks_per_s"), ("benchmark_serving", "ttft_p50_ms"),
            ("ttft_mean", "latency"), ("max_output_tokens_per_second", "throughput")} <= found
    assert ("output_tokens_per_second", "throughput") not in found and ("ttft_median", "latency") not in found


def rows_to_name() -> list[tuple[str, str, dict[str, str]]]:
    """Every kind of stored result: old and new imports, native log-likelihood and generative, user tags."""
    out = [(r["name"], r["metric"], r.get("tags", {})) for name in ("import_lm_eval", "import_vllm")
           for r in old(name)["results"]]
    out += [(r["name"], r["metric"], r["tags"]) for r in NATIVE["results"]]
    out += [("arc_easy", "acc", {}), ("arc_easy", "acc", {"scoring": "generate"}),
            ("arc_easy", "acc", {"scoring": "loglikelihood", "imported_from": "lm-eval", "lm_eval_key": "x"}),
            ("t", "acc_none", {"imported_from": "lm-eval", "lm_eval_key": "set-by-user"}),
            ("benchmark_serving", "ttft_p50_ms", {"imported_from": "vllm", "vllm_key": "median_ttft_ms"}),
            ("output_tokens_per_second", "throughput", {"imported_from": "llama-bench"}),
            ("it's", "o'clock", {"imported_from": "vllm"})]
    return out


def test_the_sql_reading_of_names_is_the_python_one() -> None:
    rows = rows_to_name()
    with duckdb.connect() as con:
        con.execute("CREATE TABLE results (name VARCHAR, metric VARCHAR, tags_json VARCHAR, i INTEGER)")
        con.executemany("INSERT INTO results VALUES (?, ?, ?, ?)",
                        [(n, m, json.dumps(t), i) for i, (n, m, t) in enumerate(rows)])
        found = con.sql(f"SELECT name, metric FROM ({with_current_names_sql('results')}) ORDER BY i").fetchall()
    expected = [current_name(n, m, t) for n, m, t in rows]
    assert found == expected
    assert sum(1 for (n, m, _), now in zip(rows, expected, strict=True) if (n, m) != now) >= 12  # renames happened
