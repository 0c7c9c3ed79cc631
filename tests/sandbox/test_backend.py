"""Which sandbox backend is chosen, from platform facts: real ones here, and a Mac's or a plain
user's under emulation (tests/platform_emulation.py). The Darwin branches have never run on a Mac."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mlx_benchmarks.errors import EXIT_USAGE, UsageError
from mlx_benchmarks.sandbox import backend as sandbox_backend
from mlx_benchmarks.sandbox import launch as sandbox_launch
from mlx_benchmarks.sandbox import seatbelt
from mlx_benchmarks.sandbox.backend import (
    PlatformFacts,
    SandboxUnavailable,
    choose_backend,
    detect_facts,
)
from tests.platform_emulation import LINUX_ONLY_TOOLS, MAC_TOOLS, MacFacts, emulate_macos

MAC = PlatformFacts("Darwin", 501, sandbox_exec="/usr/bin/sandbox-exec", seatbelt_works=True)
MAC_WITHOUT = PlatformFacts("Darwin", 501)
LINUX_USER = PlatformFacts("Linux", 1000, bwrap="/usr/bin/bwrap", bwrap_works=True)
LINUX_USER_NO_BWRAP = PlatformFacts("Linux", 1000)
LINUX_ROOT_CONTAINER = PlatformFacts("Linux", 0, namespaces_work=True)


@pytest.fixture(autouse=True)
def _fresh_probes() -> Iterator[None]:
    """Each test probes the (possibly faked) platform afresh, and leaves no faked answer behind."""
    sandbox_backend.reset()
    yield
    sandbox_backend.reset()


@pytest.mark.parametrize(("facts", "expected"), [
    (MAC, "seatbelt"),
    (LINUX_USER, "bwrap"),
    (replace(LINUX_USER, euid=0, namespaces_work=True), "bwrap"),  # bubblewrap first where both work
    (LINUX_ROOT_CONTAINER, "rlimit-root"),
])
def test_the_isolating_backend_for_each_platform(facts: PlatformFacts, expected: str) -> None:
    assert choose_backend(facts) == expected
    assert choose_backend(facts, allow_unsafe=True) == expected  # the flag never weakens a working sandbox


@pytest.mark.parametrize(("facts", "names"), [
    (MAC_WITHOUT, ["sandbox-exec is missing", "/usr/bin/sandbox-exec"]),
    (replace(MAC, seatbelt_works=False), ["cannot apply a profile", "sandbox-exec -p '(version 1)(allow default)'"]),
    (LINUX_USER_NO_BWRAP, ["bubblewrap is not installed", "apt-get install bubblewrap"]),
    (replace(LINUX_USER, bwrap_works=False), ["cannot create namespaces", "unprivileged_userns_clone"]),
    (PlatformFacts("Linux", 0), ["CAP_SYS_ADMIN", "apt-get install bubblewrap"]),
    (PlatformFacts("Windows", 0), ["no sandbox backend exists for Windows"]),
])
def test_no_isolation_is_a_one_line_refusal_naming_what_is_missing(facts: PlatformFacts, names: list[str]) -> None:
    with pytest.raises(SandboxUnavailable) as caught:
        choose_backend(facts)
    message = str(caught.value)
    assert "\n" not in message and "--confirm-run-unsafe-code" in message
    assert all(name in message for name in names), message
    assert caught.value.exit_code == EXIT_USAGE
    assert choose_backend(facts, allow_unsafe=True) == "none"


def test_a_linux_user_is_never_given_the_root_only_backend() -> None:
    # rlimit-root relies on switching to a uid of its own: without root it would isolate nothing
    assert choose_backend(replace(LINUX_USER_NO_BWRAP, namespaces_work=True), allow_unsafe=True) == "none"


def test_a_forced_backend_must_work_here() -> None:
    assert choose_backend(LINUX_ROOT_CONTAINER, forced="rlimit-root") == "rlimit-root"
    with pytest.raises(SandboxUnavailable, match=r"MLX_BENCH_SANDBOX=bwrap.*working: rlimit-root"):
        choose_backend(LINUX_ROOT_CONTAINER, forced="bwrap")
    with pytest.raises(UsageError, match="choose one of bwrap, seatbelt, rlimit-root, none"):
        choose_backend(MAC, forced="docker")
    with pytest.raises(UsageError, match="needs --confirm-run-unsafe-code"):
        choose_backend(MAC, forced="none")
    assert choose_backend(MAC, forced="NONE ", allow_unsafe=True) == "none"


def test_detection_on_an_emulated_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    emulate_macos(monkeypatch)
    double = str(Path(__file__).with_name("fake_sandbox_exec"))  # stands at /usr/bin/sandbox-exec
    monkeypatch.setattr(seatbelt, "SANDBOX_EXEC", double)
    monkeypatch.setattr(sandbox_launch, "seatbelt_works", lambda path: path == double)
    facts = detect_facts()
    assert facts == PlatformFacts("Darwin", 501, sandbox_exec=double, seatbelt_works=True)
    assert sandbox_backend.current_backend() == "seatbelt"


@pytest.mark.parametrize("on_path", [None, MAC_TOOLS["sandbox-exec"], "/opt/homebrew/bin/sandbox-exec"])
def test_an_emulated_mac_without_sandbox_exec_refuses(monkeypatch: pytest.MonkeyPatch, on_path: str | None) -> None:
    # whatever PATH offers, only /usr/bin/sandbox-exec counts (this Linux machine has none)
    tools = {k: v for k, v in MAC_TOOLS.items() if k != "sandbox-exec"}
    hidden = LINUX_ONLY_TOOLS | {"sandbox-exec"}
    if on_path is not None:
        tools["sandbox-exec"], hidden = on_path, LINUX_ONLY_TOOLS
    emulate_macos(monkeypatch, replace(MacFacts(), tools=tools, hidden_tools=hidden))
    probed: list[str] = []
    monkeypatch.setattr(sandbox_launch, "seatbelt_works", probed.append)
    assert detect_facts() == MAC_WITHOUT and probed == []
    with pytest.raises(SandboxUnavailable, match="sandbox-exec is missing"):
        sandbox_backend.current_backend()
    assert sandbox_backend.resolve_backend(allow_unsafe=True) == "none"


def test_detection_for_a_linux_user_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platform.system", lambda: "Linux")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: None)
    facts = detect_facts()
    assert facts == LINUX_USER_NO_BWRAP
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox_backend.current_backend()


def test_detection_on_this_machine_matches_the_probes() -> None:
    facts = detect_facts()
    if facts.system == "Darwin":
        expected: str | None = "seatbelt" if facts.seatbelt_works else None
    else:
        assert facts.system == "Linux" and facts.bwrap_works == sandbox_launch.bwrap_works()
        expected = "bwrap" if facts.bwrap_works else ("rlimit-root" if facts.namespaces_work else None)
    if expected is None:
        with pytest.raises(SandboxUnavailable):
            sandbox_backend.current_backend()
    else:
        assert sandbox_backend.current_backend() == expected
