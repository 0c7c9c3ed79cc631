from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.system import detect_git_sha, detect_runner, detect_system, detect_trigger


def test_detect_system_fills_required_fields() -> None:
    system = detect_system({})
    assert system["os"] and system["chip"] and system["memory_gb"] >= 1
    assert system["python_version"].count(".") == 2
    assert system["kernel"]
    assert "runner" not in system


def test_vllm_mlx_version_never_comes_from_vllm(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlx_benchmarks import system as module

    monkeypatch.setattr(module, "package_version", lambda *names: "9.9.9" if names == ("vllm",) else None)
    assert "vllm_mlx_version" not in module.detect_system({})


@pytest.mark.parametrize(
    ("env", "trigger", "pr"),
    [
        ({"GITHUB_EVENT_NAME": "schedule"}, "schedule", None),
        ({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/42/merge"}, "pr", 42),
        ({"GITHUB_EVENT_NAME": "pull_request_target", "GITHUB_REF": "refs/pull/7/head"}, "pr", 7),
        ({"GITHUB_EVENT_NAME": "workflow_dispatch"}, "workflow_dispatch", None),
        ({"GITHUB_EVENT_NAME": "push"}, "local", None),
        ({}, "local", None),
    ],
)
def test_trigger_from_ci_environment(env: dict[str, str], trigger: str, pr: int | None) -> None:
    context = detect_trigger(env)
    assert (context.trigger, context.pr_number) == (trigger, pr)


def test_runner_label() -> None:
    assert detect_runner({}) is None
    assert detect_runner({"GITHUB_ACTIONS": "true", "RUNNER_ENVIRONMENT": "self-hosted"}) == "self-hosted"
    assert detect_runner({"GITHUB_ACTIONS": "true", "RUNNER_NAME": "macos-latest"}) == "macos-latest"
    assert detect_runner({"MLX_BENCH_RUNNER": "m4-max-01"}) == "m4-max-01"


def test_git_sha_from_checkout(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert detect_git_sha({"MLX_BENCH_GIT_SHA": "abcdef1"}, cwd=tmp_path) == head


def test_git_sha_outside_checkout_uses_env_then_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlx_benchmarks import system as module

    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert detect_git_sha({"MLX_BENCH_GIT_SHA": "ABCDEF1234"}, cwd=tmp_path) == "ABCDEF1234"
    with pytest.raises(UsageError, match="not a 7-64 digit hex"):
        detect_git_sha({"MLX_BENCH_GIT_SHA": "main"}, cwd=tmp_path)
    monkeypatch.setattr(module, "_baked_sha", lambda: None)
    with pytest.raises(UsageError, match="no git commit is known"):
        detect_git_sha({}, cwd=tmp_path)
    monkeypatch.setattr(module, "_baked_sha", lambda: "1234567")
    assert detect_git_sha({}, cwd=tmp_path) == "1234567"
