"""Through the whole CLI: with no sandbox, the code suites refuse before any generation (exit 2, one
line); with --confirm-run-unsafe-code they run, and the envelope says so in errors[] and every tag.

The platform facts are faked in-process (a Mac without sandbox-exec, a Linux user without
bubblewrap); the gold-answer target double logs every request it gets, so "nothing generated" is seen.
The last tests emulate a whole Mac (tests/platform_emulation.py) and let the facts be detected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.sandbox import backend as sandbox_backend
from mlx_benchmarks.sandbox import launch as sandbox_launch
from mlx_benchmarks.sandbox import seatbelt
from mlx_benchmarks.sandbox.backend import PlatformFacts, unsafe_notice
from mlx_benchmarks.store import Store
from tests.platform_emulation import LINUX_ONLY_TOOLS, MAC_TOOLS, MacFacts, emulate_macos

DOUBLES = "py:tests.doubles.gold_target:"
QUICK = ["--git-sha", "abcdef0"]
NO_SANDBOX = {
    "mac-without-sandbox-exec": (PlatformFacts("Darwin", 501), "sandbox-exec is missing"),
    "linux-user-without-bwrap": (PlatformFacts("Linux", 1000), "apt-get install bubblewrap"),
}


@pytest.fixture
def no_sandbox(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process sees a platform where no sandbox works; yields what the refusal must name."""
    facts, names = NO_SANDBOX[request.param]
    monkeypatch.delenv("MLX_BENCH_SANDBOX", raising=False)
    monkeypatch.setattr(sandbox_backend, "detect_facts", lambda: facts)
    sandbox_backend.reset()
    yield names
    sandbox_backend.reset()


def _requests(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.mark.parametrize("no_sandbox", list(NO_SANDBOX), indirect=True)
@pytest.mark.parametrize(("suite", "flags"), [
    ("coding", []),
    ("code-accuracy", ["--samples", "2", "--k", "1"]),
    ("evalplus", []),
])
def test_code_suites_refuse_before_any_generation(no_sandbox: str, suite: str, flags: list[str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "requests.log"
    monkeypatch.setenv("GOLD_TARGET_LOG", str(log))
    store = tmp_path / "store"
    code = main(["run", suite, "--target", DOUBLES + "gold_target", "--limit", "1", "--store", str(store),
                 *flags, *QUICK])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("mlx-bench: error: no code sandbox")
    assert no_sandbox in err and "--confirm-run-unsafe-code" in err
    assert _requests(log) == []
    assert not store.exists() or Store(store).run_ids() == []


@pytest.mark.parametrize("no_sandbox", ["mac-without-sandbox-exec"], indirect=True)
def test_confirm_run_unsafe_code_runs_and_says_so(no_sandbox: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "requests.log"
    monkeypatch.setenv("GOLD_TARGET_LOG", str(log))
    code = main(["run", "coding", "--target", DOUBLES + "gold_target", "--limit", "1", "--store", str(tmp_path),
                 "--confirm-run-unsafe-code", *QUICK])
    assert code == 0
    store = Store(tmp_path)
    (run_id,) = store.run_ids()
    envelope = store.envelope(run_id)
    assert envelope["errors"][0] == unsafe_notice()
    assert envelope["results"] and all(r["tags"]["sandbox"] == "none" for r in envelope["results"])
    assert {r["value"] for r in envelope["results"] if r["metric"] == "pass_at_1"} == {1.0}
    assert len(_requests(log)) == 2  # one per task: the run really generated and scored


def test_with_a_sandbox_the_flag_changes_nothing(tmp_path: Path) -> None:
    sandbox_backend.reset()
    expected = sandbox_backend.current_backend()
    code = main(["run", "coding", "--tasks", "mbpp", "--target", DOUBLES + "gold_target", "--limit", "1",
                 "--store", str(tmp_path), "--confirm-run-unsafe-code", *QUICK])
    assert code == 0
    store = Store(tmp_path)
    envelope = store.envelope(store.run_ids()[0])
    assert envelope["errors"] == []
    assert {r["tags"]["sandbox"] for r in envelope["results"]} == {expected}


# ------------------------------------------------------------------ the whole emulated Mac, facts detected

@pytest.fixture
def emulated_mac(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str | None], None]]:
    """Make this process an emulated Mac whose sandbox-exec is the given path (None: missing)."""

    def become(sandbox_exec: str | None) -> None:
        tools = {k: v for k, v in MAC_TOOLS.items() if k != "sandbox-exec"}
        hidden = LINUX_ONLY_TOOLS
        if sandbox_exec is None:
            hidden = hidden | {"sandbox-exec"}
        else:
            tools["sandbox-exec"] = sandbox_exec
        emulate_macos(monkeypatch, replace(MacFacts(), tools=tools, hidden_tools=hidden))
        # the double stands where macOS keeps sandbox-exec (PATH is never searched)
        monkeypatch.setattr(seatbelt, "SANDBOX_EXEC", sandbox_exec or "/nonexistent/sandbox-exec")
        # the double cannot answer the nesting probe any differently: trust it
        monkeypatch.setattr(sandbox_launch, "seatbelt_works", lambda path: path == sandbox_exec)
        monkeypatch.delenv("MLX_BENCH_SANDBOX", raising=False)
        sandbox_backend.reset()

    yield become
    sandbox_backend.reset()


def test_an_emulated_mac_runs_the_code_suite_under_seatbelt(emulated_mac: Callable[[str | None], None],
                                                           tmp_path: Path) -> None:
    emulated_mac(str(Path(__file__).with_name("fake_sandbox_exec")))  # a test double: confines nothing
    code = main(["run", "coding", "--target", DOUBLES + "gold_target", "--limit", "1", "--store", str(tmp_path),
                 *QUICK])
    assert code == 0
    store = Store(tmp_path)
    envelope = store.envelope(store.run_ids()[0])
    assert envelope["errors"] == [] and envelope["system"]["os"].startswith("macOS")
    assert {(r["tags"]["sandbox"], r["value"]) for r in envelope["results"]} == {("seatbelt", 1.0)}


def test_an_emulated_mac_without_sandbox_exec_refuses(emulated_mac: Callable[[str | None], None], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    emulated_mac(None)
    code = main(["run", "evalplus", "--target", DOUBLES + "gold_target", "--limit", "1", "--store", str(tmp_path),
                 *QUICK])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "sandbox-exec is missing" in err


@pytest.mark.parametrize(("python_prefix", "named"), [
    ("HOME", "would have to open"),  # a Python installed straight into $HOME
    ("/", "would have to open / "),
])
def test_an_emulated_mac_refuses_a_too_broad_interpreter_before_any_generation(
        emulated_mac: Callable[[str | None], None], python_prefix: str, named: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    prefix = str(home) if python_prefix == "HOME" else python_prefix
    fake = home / "bin" / "python3"  # stand-in interpreter: answers where it is installed, nothing else
    fake.parent.mkdir(parents=True)
    fake.write_text(f"#!/bin/sh\necho '[\"{prefix}\", \"{prefix}\"]'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MLX_BENCH_SANDBOX_PYTHON", str(fake))
    emulated_mac(str(Path(__file__).with_name("fake_sandbox_exec")))
    log = tmp_path / "requests.log"
    monkeypatch.setenv("GOLD_TARGET_LOG", str(log))
    code = main(["run", "coding", "--target", DOUBLES + "gold_target", "--limit", "1", "--store",
                 str(tmp_path / "store"), *QUICK])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and named in err and "MLX_BENCH_SANDBOX_PYTHON" in err
    assert _requests(log) == []


def test_an_emulated_mac_refuses_a_profile_too_tight_for_cpython_before_any_generation(
        emulated_mac: Callable[[str | None], None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # a sandbox-exec double that fails the way CPython does when the profile denies what it needs
    double = tmp_path / "sandbox-exec"
    double.write_text('#!/bin/sh\necho "dyld[1]: Library not loaded: Operation not permitted" >&2\nexit 134\n')
    double.chmod(0o755)
    emulated_mac(str(double))
    log = tmp_path / "requests.log"
    monkeypatch.setenv("GOLD_TARGET_LOG", str(log))
    code = main(["run", "evalplus", "--target", DOUBLES + "gold_target", "--limit", "1", "--store",
                 str(tmp_path / "store"), *QUICK])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "does not start under the profile" in err and "Library not loaded" in err
    assert _requests(log) == []
