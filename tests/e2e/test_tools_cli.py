"""Whole-CLI tool-use runs: tool-calling, framework-eval, a two-target comparison and a sweep file, on the
scripted tool server (a test double); and the embedded default model end to end (marked ``mlx``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.envelope import validate
from mlx_benchmarks.store import Store
from tests.doubles.scripted_tool_server import ScriptedToolServer

SHA = ["--git-sha", "abcdef0"]


def stored(store: Path) -> list[dict[str, Any]]:
    s = Store(store)
    return [s.envelope(run_id) for run_id in s.run_ids()]


def test_tool_calling_run_stores_envelope_and_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedToolServer().in_thread() as server:
        code = main(["run", "tool-calling", "--target", server.url("mixed"), "--tasks", "simple,parallel,irrelevance",
                     "--limit", "4", "--store", str(tmp_path), *SHA])
    assert code == 0
    (envelope,) = stored(tmp_path)
    validate(envelope)
    assert envelope["suite"] == "tool-calling" and envelope["model"] == "scripted-tool-model"
    metrics = {(r["name"], r["metric"]) for r in envelope["results"]}
    assert {("simple", "accuracy"), ("parallel", "accuracy"), ("overall", "accuracy")} <= metrics
    samples = Store(tmp_path).samples(Store(tmp_path).run_ids()[0])
    assert len(samples) == 12 and all("failure" in s["detail"] for s in samples)
    assert "tool-calling · scripted-tool-model" in capsys.readouterr().out


def test_framework_eval_run(tmp_path: Path) -> None:
    with ScriptedToolServer().in_thread() as server:
        code = main(["run", "framework-eval", "--target", server.url("gold"), "--frameworks", "baseline",
                     "--tasks", "order_total,capital_from_file", "--store", str(tmp_path), *SHA])
    assert code == 0
    (envelope,) = stored(tmp_path)
    headline = envelope["results"][0]
    assert (headline["name"], headline["metric"], headline["value"]) == ("baseline", "success_rate", 1.0)


def test_two_target_comparison_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedToolServer().in_thread() as a, ScriptedToolServer().in_thread() as b:
        code = main(["run", "tool-calling", "--target", a.url("gold"), "--target", b.url("absent"),
                     "--tasks", "simple", "--limit", "3", "--store", str(tmp_path), *SHA])
    assert code == 0
    out = capsys.readouterr().out
    assert "capability-comparison · tool-calling" in out and "peak RSS" in out
    assert sorted(e["suite"] for e in stored(tmp_path)) == ["capability-comparison"] * 2 + ["tool-calling"] * 2


def test_sweep_file_runs_every_combination(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedToolServer().in_thread() as a, ScriptedToolServer().in_thread() as b:
        sweep = tmp_path / "sweep.toml"
        sweep.write_text(f"""
[sweep]
seed = 3
[[targets]]
label = "good"
target = "{a.url('gold')}"
[[targets]]
label = "bad"
target = "{b.url('wrong')}"
[[suites]]
name = "tool-calling"
options = {{ tasks = ["simple", "irrelevance"], limit = 2 }}
matrix = {{ max_tokens = [64, 128] }}
""")
        code = main(["sweep", str(sweep), "--store", str(tmp_path / "store"), *SHA])
    assert code == 0
    envelopes = stored(tmp_path / "store")
    assert len(envelopes) == 8  # 2 combinations x 2 targets x (suite + comparison twin)
    assert {e["gen_kwargs"]["max_gen_toks"] for e in envelopes} == {64, 128}
    assert {e["seed"] for e in envelopes} == {3}
    out = capsys.readouterr().out
    assert out.count("capability-comparison · tool-calling") == 2 and "good" in out and "bad" in out


def test_each_sweep_target_gets_the_key_its_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLOUD_A_KEY", "secret-a-123")
    monkeypatch.setenv("CLOUD_B_KEY", "secret-b-456")
    monkeypatch.setenv("MLX_BENCH_API_KEY", "the-default-key")
    with ScriptedToolServer().in_thread() as a, ScriptedToolServer().in_thread() as b, \
            ScriptedToolServer().in_thread() as c:
        sweep = tmp_path / "sweep.toml"
        sweep.write_text(f"""
[[targets]]
target = "{a.url('gold')}"
api_key_env = "CLOUD_A_KEY"
[[targets]]
target = "{b.url('gold')}"
api_key_env = "CLOUD_B_KEY"
[[targets]]
target = "{c.url('gold')}"
[[suites]]
name = "tool-calling"
options = {{ tasks = "simple", limit = 1 }}
""")
        assert main(["sweep", str(sweep), "--store", str(tmp_path / "store"), *SHA]) == 0
    assert set(a.authorizations) == {"Bearer secret-a-123"}
    assert set(b.authorizations) == {"Bearer secret-b-456"}
    assert set(c.authorizations) == {"Bearer the-default-key"}, "no api_key_env: the environment's default"
    stored_text = "".join(p.read_text(errors="replace") for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert "secret-a" not in stored_text and "secret-b" not in stored_text, "keys are never stored"
    assert "secret" not in capsys.readouterr().out


@pytest.mark.parametrize(("body", "message"), [
    ('[[targets]]\ntarget = "http://127.0.0.1:9/v1"\napi_key_env = "NOT_SET_ANYWHERE_X"\n[[suites]]\nname = "tool-calling"',
     "targets[0].api_key_env: the environment variable NOT_SET_ANYWHERE_X is not set"),
    ('[[targets]]\ntarget = "http://127.0.0.1:9/v1"\napi_key_env = "sk-live-abc"\n[[suites]]\nname = "tool-calling"',
     "targets[0].api_key_env: 'sk-live-abc' is not an environment variable name"),
    ('[[targets]]\ntarget = "embedded"\napi_key_env = "HOME"\n[[suites]]\nname = "tool-calling"',
     "targets[0].api_key_env: only an http(s) target takes an API key"),
    ('[[targets]]\ntarget = "embedded"\ncolour = 1\n[[suites]]\nname = "tool-calling"', "targets[0].colour: unknown key"),
    ('[[targets]]\ntarget = "ftp://x"\n[[suites]]\nname = "tool-calling"', "targets[0].target:"),
    ('[[targets]]\ntarget = "embedded"\n[[suites]]\nname = "nope"', "suites[0].name: unknown suite 'nope'"),
    ('[[targets]]\ntarget = "embedded"\n[[suites]]\nname = "tool-calling"\noptions = { limit = "x" }',
     "suites[0].options.limit: invalid value 'x'"),
    ('[[targets]]\ntarget = "embedded"\n[[suites]]\nname = "tool-calling"\noptions = { tasks = "bogus" }',
     "suites[0].options: --tasks: unknown category 'bogus'"),
    ('[[targets]]\ntarget = "embedded"\n[[suites]]\nname = "tool-calling"\noptions = { speed = 1 }',
     "suites[0].options.speed: tool-calling has no such option"),
    ('[[targets]]\ntarget = "embedded"\n[[suites]]\nname = "framework-eval"\nmatrix = { max_steps = 3 }',
     "suites[0].matrix.max_steps: expected a non-empty list"),
    ('[sweep]\nseed = true\n[[targets]]\ntarget = "embedded"\n[[suites]]\nname = "tool-calling"',
     "sweep.seed: expected an integer"),
    ('[[suites]]\nname = "tool-calling"', "targets: give at least one"),
    ("not toml [", "not valid TOML"),
])
def test_sweep_file_errors_name_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str,
                                        message: str) -> None:
    sweep = tmp_path / "bad.toml"
    sweep.write_text(body)
    assert main(["sweep", str(sweep), "--store", str(tmp_path / "store")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "store").exists()


def test_example_sweep_file_is_valid(repo_root: Path) -> None:
    assert main(["sweep", str(repo_root / "examples" / "sweep.toml"), "--dry-run"]) == 0


MLX = importlib.util.find_spec("mlx_lm") is not None


@pytest.mark.mlx
@pytest.mark.skipif(not MLX, reason="mlx-lm is not installed")
def test_embedded_default_runs_both_suites(tmp_path: Path) -> None:
    assert main(["run", "tool-calling", "--tasks", "simple,irrelevance", "--limit", "1", "--max-tokens", "24",
                 "--store", str(tmp_path), *SHA]) == 0
    assert main(["run", "framework-eval", "--frameworks", "baseline", "--tasks", "body_temperature",
                 "--max-steps", "2", "--max-tokens", "24", "--store", str(tmp_path), *SHA]) == 0
    envelopes = {e["suite"]: e for e in stored(tmp_path)}
    for envelope in envelopes.values():
        validate(envelope)
    calling = envelopes["tool-calling"]
    assert calling["results"][0]["tags"]["tool_prompt"] == "hermes-system-prompt"  # SmolLM2's template drops tools
    assert envelopes["framework-eval"]["results"][0]["name"] == "baseline"


@pytest.mark.llamacpp
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="the [llamacpp] extra is not installed")
def test_llamacpp_server_tool_path(tmp_path: Path) -> None:
    """The real tool-call path through llama-cpp-python's server (its function-calling chat format)."""
    assert main(["run", "tool-calling", "--serve", "llamacpp", "--tasks", "simple,irrelevance", "--limit", "1",
                 "--max-tokens", "48", "--store", str(tmp_path), *SHA]) == 0
    (envelope,) = stored(tmp_path)
    validate(envelope)
    assert {r["name"] for r in envelope["results"]} >= {"simple", "irrelevance", "overall"}
