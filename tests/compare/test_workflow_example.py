"""examples/github-workflow.yml: its triggers, its runner, and every mlx-bench command and flag it uses exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.suites.registry import available

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-workflow.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def scripts(workflow: dict[Any, Any]) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def invocations(workflow: dict[Any, Any]) -> list[list[str]]:
    """Every ``mlx-bench ...`` command line, continuation lines joined, expressions blanked."""
    out = []
    for script in scripts(workflow):
        joined = re.sub(r"\\\n\s*", " ", script)
        joined = re.sub(r"\$\{\{.*?\}\}", "X", joined)
        for line in joined.splitlines():
            match = re.search(r"\bmlx-bench\s+(.*?)(\|\||$)", line)
            if match:
                out.append(shlex.split(match.group(1)))
    return out


def help_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        main([*argv, "--help"])
    assert stopped.value.code == 0
    return capsys.readouterr().out


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    found: dict[str, Any] = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    return found


def test_triggers_and_runner(workflow: dict[Any, Any]) -> None:
    assert {"schedule", "pull_request", "workflow_dispatch"} <= set(triggers(workflow))
    assert triggers(workflow)["schedule"][0]["cron"]
    [job] = workflow["jobs"].values()
    assert job["runs-on"] == ["self-hosted", "macOS", "ARM64"]


def test_the_workflow_runs_publishes_and_gates(workflow: dict[Any, Any]) -> None:
    commands = {argv[0]: argv for argv in invocations(workflow)}
    assert set(commands) == {"run", "publish", "compare"}
    assert "--skip-unavailable" in commands["run"]
    assert commands["publish"][1:] == ["--to", "X"]
    assert "vars.MLX_BENCH_LAKE" in " ".join(scripts(workflow))
    assert {"--markdown", "--fail-on-regression", "--latest"} <= set(commands["compare"])


def test_every_command_and_flag_exists(workflow: dict[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    for argv in invocations(workflow):
        command = argv[0]
        text = help_text([command, "throughput"] if command == "run" else [command], capsys)
        for flag in (a for a in argv if a.startswith("--")):
            assert re.search(rf"{re.escape(flag)}\b", text), f"mlx-bench {command} has no {flag}"


def test_default_suites_are_implemented(workflow: dict[Any, Any]) -> None:
    env = workflow["jobs"]["bench"]["env"]
    default = re.search(r"'([^']+)'", env["SUITES"])
    assert default is not None
    assert set(default.group(1).split()) <= set(available())
    assert triggers(workflow)["workflow_dispatch"]["inputs"]["suites"]["default"] == default.group(1)
