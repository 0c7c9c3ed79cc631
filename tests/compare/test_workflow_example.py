"""examples/github-workflow.yml: its triggers, its runner, its safety (pinned Python, no fork code on the
self-hosted Mac, one benchmark per machine) and every mlx-bench command and flag it uses exist; and the
project's own .github/workflows/ci.yml: Linux and Apple Silicon, pinned Python, `make test`, a small bench."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.suites.registry import available

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "github-workflow.yml"
CI = REPO / ".github" / "workflows" / "ci.yml"
PINNED = re.compile(r"^3\.1[1-9]$")  # a minor version, as a string (YAML would read 3.10 as 3.1)


def load(path: Path) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return load(WORKFLOW)


@pytest.fixture(scope="module")
def ci() -> dict[Any, Any]:
    return load(CI)


def setup_python(job: dict[Any, Any]) -> dict[Any, Any]:
    [step] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python@")]
    return step


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
    assert job["runs-on"][:3] == ["self-hosted", "macOS", "ARM64"]
    assert "vars.MLX_BENCH_MACHINE" in job["runs-on"][3], "a label that names one machine"


def test_python_is_pinned_and_arm64(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["bench"]
    step = setup_python(job)
    assert PINNED.match(step["with"]["python-version"]) and step["with"]["architecture"] == "arm64"
    install = next(s["run"] for s in job["steps"] if s.get("name") == "Install")
    assert install.startswith(f'"${{{{ steps.{step["id"]}.outputs.python-path }}}}" -m venv'), "not whatever python3 is"


def test_fork_pull_requests_never_run_on_the_self_hosted_mac(workflow: dict[Any, Any]) -> None:
    guard = workflow["jobs"]["bench"]["if"].replace(" ", "")
    assert guard == ("github.event_name!='pull_request'||"
                     "github.event.pull_request.head.repo.full_name==github.repository")
    assert "pull_request_target" not in triggers(workflow), "it would hand fork code our secrets"


def test_one_benchmark_at_a_time_per_machine(workflow: dict[Any, Any]) -> None:
    group = workflow["concurrency"]
    assert group["cancel-in-progress"] is False
    assert "github.ref" not in group["group"] and "vars.MLX_BENCH_MACHINE" in group["group"]
    assert group["group"].removeprefix("mlx-bench-") == workflow["jobs"]["bench"]["runs-on"][3]


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


def test_ci_runs_on_linux_and_apple_silicon_with_pinned_python(ci: dict[Any, Any]) -> None:
    [job] = ci["jobs"].values()
    assert set(job["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "macos-14"}
    assert job["runs-on"] == "${{ matrix.os }}"
    step = setup_python(job)
    assert PINNED.match(step["with"]["python-version"])
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert f'make test PYTHON="${{{{ steps.{step["id"]}.outputs.python-path }}}}"' in runs
    assert not any("self-hosted" in str(v) for v in job.values())


def test_ci_checks_metal_and_benches_with_real_flags(ci: dict[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    [job] = ci["jobs"].values()
    metal = next(s for s in job["steps"] if "mx.default_device()" in s.get("run", ""))
    assert metal["if"] == "runner.os == 'macOS'" and "mx.gpu" in metal["run"]
    [bench] = [s["run"] for s in job["steps"] if s.get("run", "").startswith("make bench")]
    match = re.fullmatch(r'make bench BENCH_ARGS="([^"]+)"', bench)
    assert match is not None
    text = help_text(["run", "throughput"], capsys)
    for flag in (a for a in shlex.split(match.group(1)) if a.startswith("--")):
        assert re.search(rf"{re.escape(flag)}\b", text), f"mlx-bench run throughput has no {flag}"
