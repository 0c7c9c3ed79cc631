"""The leaderboard and the dashboard's trend group by configuration: a model at two layouts is two labelled rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mlx_benchmarks.compare.config_key import config_sql, config_text, parse_config_text, row_config
from mlx_benchmarks.envelope import Envelope, Result
from mlx_benchmarks.store import Store
from mlx_benchmarks.views import Filters, ViewSource, leaderboard, trend
from tests.dashboard.store_builder import MODELS, START, build_store
from tests.dashboard.test_index import GlobOnlyStore


def put_layout(store: Store, model: str, layout: str, decode: float, day: int, **tags: object) -> str:
    when = START + timedelta(days=day, hours=5)
    results = [Result("decode_tps", "throughput", decode, "tok/s").tag(concurrency=1, weights_layout=layout, **tags)]
    envelope = Envelope(suite="throughput", model=model, system={"os": "Linux", "chip": "x86_64", "memory_gb": 8},
                        git_sha="abc1234", timestamp=when.strftime("%Y-%m-%dT%H:%M:%SZ"), quantization="Q4_1",
                        seed=1234, results=results)
    return store.put(envelope.validated()).run_id


def test_a_model_at_two_layouts_is_two_labelled_rows(tmp_path: Path) -> None:
    built = build_store(tmp_path, days=2)
    store = Store(tmp_path)
    model = "HuggingFaceTB/SmolLM2-135M-Instruct"
    quantized = put_layout(store, model, "quantized", 31.0, day=3)
    put_layout(store, model, "float32", 19.0, day=4)
    float32 = put_layout(store, model, "float32", 18.0, day=5)  # the newer float32 run replaces the older one
    board = next(b for b in leaderboard(ViewSource(store), Filters(suite="throughput")))
    mine = [r for r in board["rows"] if r["model"] == model]
    assert [(r["label"], r["run_id"], r["value"]) for r in mine] == [
        (f"{model} · weights_layout=quantized", quantized, 31.0),
        (f"{model} · weights_layout=float32", float32, 18.0),
    ]
    assert board["config_keys"] == ["quantization", "weights_layout"]
    # the store's other models (quantization mlx-4bit, no layout recorded) keep one row each, under their plain name
    others = [r for r in board["rows"] if r["model"] != model]
    assert sorted(r["label"] for r in others) == sorted(MODELS)
    assert all(r["run_id"] == built.latest(r["model"], "throughput").run_id for r in others)
    assert all(r["config"] == {"quantization": "mlx-4bit", "concurrency": "1"} for r in others)


def test_one_configuration_keeps_the_plain_model_name(tmp_path: Path) -> None:
    build_store(tmp_path, days=2)
    for board in leaderboard(ViewSource(Store(tmp_path))):
        assert board["config_keys"] == []
        assert [r["label"] for r in board["rows"]] == [r["model"] for r in board["rows"]]


def test_dashboard_trend_has_one_series_per_configuration_and_says_untested(tmp_path: Path) -> None:
    store = Store(tmp_path)
    model = "m"
    for day in range(3):
        put_layout(store, model, "quantized", 30.0 + day, day=day)
        put_layout(store, model, "float32", 18.0 + day, day=day, device="cpu")
    data = trend(ViewSource(store), "throughput", "decode_tps", "throughput")
    labels = {s["label"]: s for s in data["series"]}
    # the fewest keys that tell the series apart: the layout alone does (device changes with it)
    assert set(labels) == {"m · weights_layout=quantized", "m · weights_layout=float32"}
    assert all(len(s["points"]) == 3 and s["tested"] is False and s["min_runs"] == 10 for s in data["series"])


def test_sql_and_python_agree_on_every_configuration(tmp_path: Path) -> None:
    build_store(tmp_path, days=1)
    store = Store(tmp_path)
    put_layout(store, "m", "float32", 18.0, day=2, device="cpu", blas="openblas", gpu_cores="")
    put_layout(store, "m", "quantized", 30.0, day=2, n_limit="20", dataset="gsm8k", scoring="generate",
               num_fewshot=0, reference="lm-eval 0.4.13", n_gen=128, n_depth=4096, note="it's = \"quoted\"")
    put_layout(store, "m", "quantized", 30.0, day=3, n_limit="all", gen_tokens_requested=16, n_gen=8)
    con = ViewSource(store).connect()
    rows = con.execute(f"SELECT tags_json, quantization, seed, {config_sql()} AS config FROM results").fetchall()
    assert len(rows) > 3
    seen = set()
    for tags_json, quantization, seed, text in rows:
        python = row_config({"tags_json": tags_json, "quantization": quantization, "seed": seed})
        assert text == config_text(python) and parse_config_text(text) == python
        seen.add(text)
    expected = {"concurrency": "1", "quantization": "Q4_1", "gen_tokens": "128", "depth": "4096", "weights_layout": "quantized",
                "dataset": "gsm8k", "limit": "20", "seed": "1234", "scoring": "generate", "num_fewshot": "0",
                "reference": "lm-eval 0.4.13"}
    assert config_text(expected) in seen
    # the first recorded tag of a key wins (ours before llama-bench's), and "all" records take no seed
    assert config_text({"gen_tokens": "16", "concurrency": "1", "quantization": "Q4_1", "weights_layout": "quantized", "limit": "all"}) in seen


@pytest.mark.parametrize("name", ["leaderboard", "trend"])
def test_views_work_on_an_empty_store(tmp_path: Path, name: str) -> None:
    source = ViewSource(Store(tmp_path))
    if name == "leaderboard":
        assert leaderboard(source) == []
    else:
        assert trend(source, "throughput", "decode_tps", "throughput")["series"] == []


def test_the_glob_path_and_the_index_agree_on_configurations(tmp_path: Path) -> None:
    build_store(tmp_path, days=2)
    store = Store(tmp_path)
    put_layout(store, "m", "quantized", 30.0, day=3)
    put_layout(store, "m", "float32", 18.0, day=3, device="cpu")
    indexed, globbed = ViewSource(store), ViewSource(GlobOnlyStore(store))
    boards = leaderboard(indexed)
    assert leaderboard(globbed) == boards
    assert len([r for b in boards for r in b["rows"] if r["model"] == "m"]) == 2
    args = ("throughput", "decode_tps", "throughput")
    assert trend(globbed, *args) == trend(indexed, *args)


def test_configurations_are_computed_once_per_index_generation(tmp_path: Path) -> None:
    store = Store(tmp_path)
    put_layout(store, "m", "quantized", 30.0, day=1)
    source = ViewSource(store)
    leaderboard(source)
    first = source._configured
    leaderboard(source)
    assert source._configured is first  # no new shard: the same table, no tags parsed again
    put_layout(store, "m", "float32", 18.0, day=2)
    assert len(leaderboard(source)[0]["rows"]) == 2 and source._configured is not first
