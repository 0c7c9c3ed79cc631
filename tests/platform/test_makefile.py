"""The Makefile's machine-dependent choices, checked on Linux with stub executables and overridden facts:
which Python it builds with, what it does without apt, and which llama.cpp flags it builds with."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mlx_benchmarks.targets.managed import llamacpp_cmake_args

REPO = Path(__file__).resolve().parents[2]
FIND_PYTHON = REPO / "scripts" / "find_python.sh"
pytestmark = pytest.mark.skipif(shutil.which("make") is None or not Path("/bin/sh").exists(),
                                reason="needs make and /bin/sh")


def stub(folder: Path, name: str, output: str, code: int = 0) -> None:
    """An executable that prints ``output`` and exits with ``code``, whatever it is asked."""
    path = folder / name
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' '{output}'\nexit {code}\n", encoding="utf-8")
    path.chmod(0o755)


def link(folder: Path, *tools: str) -> None:
    for tool in tools:
        real = shutil.which(tool)
        assert real, tool
        (folder / tool).symlink_to(real)


def mac(tmp_path: Path, pythons: dict[str, str]) -> Path:
    """A PATH folder of an Apple Silicon Mac with these Pythons (name -> "version machine")."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "uname", "Darwin")
    stub(bin_dir, "sysctl", "1")
    for name, facts in pythons.items():
        stub(bin_dir, name, facts)
    return bin_dir


def find_python(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", str(FIND_PYTHON), *args], capture_output=True, text=True,
                          env={"PATH": str(bin_dir)}, timeout=30)


def test_the_newest_arm64_python_is_chosen_over_a_rosetta_one(tmp_path: Path) -> None:
    bin_dir = mac(tmp_path, {"python3.12": "3.12 x86_64", "python3.11": "3.11 arm64", "python3": "3.9 arm64"})
    out = find_python(bin_dir)
    assert (out.returncode, out.stdout.strip()) == (0, str(bin_dir / "python3.11"))


def test_only_a_rosetta_python_is_refused_in_one_line(tmp_path: Path) -> None:
    out = find_python(mac(tmp_path, {"python3.12": "3.12 x86_64"}))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1
    assert "python3.12 is an x86_64 (Rosetta) interpreter on Apple Silicon" in out.stderr
    assert "brew install python@3.12, or uv python install 3.12" in out.stderr


def test_a_named_rosetta_python_is_refused(tmp_path: Path) -> None:
    out = find_python(mac(tmp_path, {"python3.12": "3.12 x86_64", "python3.11": "3.11 arm64"}), "python3.12")
    assert out.returncode == 2 and "Rosetta" in out.stderr


def test_stock_macos_python_39_says_how_to_get_a_newer_one(tmp_path: Path) -> None:
    out = find_python(mac(tmp_path, {"python3": "3.9 arm64"}))
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "need Python 3.11+ (python3 is Python 3.9): brew install python@3.12" in out.stderr


def test_linux_takes_the_first_new_enough_python(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "uname", "Linux")
    stub(bin_dir, "python3.13", "", code=127)  # a pyenv shim for a version that is not installed
    stub(bin_dir, "python3.12", "3.12 x86_64")
    out = find_python(bin_dir)
    assert out.stdout.strip() == str(bin_dir / "python3.12")
    (bin_dir / "python3.12").unlink()
    out = find_python(bin_dir)
    assert out.returncode == 2
    assert out.stderr.startswith("no Python 3.11+ found (tried python3.13 python3.12 python3.11 python3): apt-get")


def make(*args: str, path: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    make_bin = shutil.which("make")
    assert make_bin
    return subprocess.run([make_bin, "--no-print-directory", "-f", str(REPO / "Makefile"), *args],
                          capture_output=True, text=True, cwd=cwd, env={"PATH": path, "HOME": os.environ["HOME"]},
                          timeout=60)


def test_setup_refuses_without_a_usable_python(tmp_path: Path) -> None:
    bin_dir = mac(tmp_path, {"python3": "3.9 arm64"})
    out = make("setup", f"VENV={tmp_path / 'venv'}", path=str(bin_dir))
    assert out.returncode == 2
    assert "need Python 3.11+ (python3 is Python 3.9): brew install python@3.12" in out.stderr


@pytest.mark.parametrize(("system", "machine"), [("Darwin", "arm64"), ("Darwin", "x86_64"),
                                                 ("Linux", "x86_64"), ("Linux", "aarch64")])
def test_llamacpp_flags_match_the_python_side(tmp_path: Path, system: str, machine: str) -> None:
    venv = tmp_path / "venv"
    out = make("-n", "llamacpp", f"VENV={venv}", f"UNAME_S={system}", f"UNAME_M={machine}",
               "-o", f"{venv}/.setup-stamp", path=os.environ["PATH"])
    assert f'CMAKE_ARGS="{llamacpp_cmake_args(system, machine)}" ' in out.stdout


def test_bench_args_reach_the_command(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    out = make("-n", "bench", f"VENV={venv}", "BENCH_ARGS=--prompt-lengths 128 --trials 1",
               "-o", f"{venv}/.setup-stamp", "-o", f"{venv}/.blas-stamp", path=os.environ["PATH"])
    assert f"{venv}/bin/mlx-bench run throughput --prompt-lengths 128 --trials 1" in out.stdout


def apt_machine(tmp_path: Path, *, uid: str, apt: bool) -> Path:
    """A PATH folder with a stub ``id`` and, if ``apt``, a recording ``apt-get`` and a ``dpkg`` that knows nothing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "id", uid)
    link(bin_dir, "mkdir", "touch", "uname")
    if apt:
        record = tmp_path / "apt.log"
        (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {record}\n', encoding="utf-8")
        (bin_dir / "apt-get").chmod(0o755)
        stub(bin_dir, "dpkg", "", code=1)
    return bin_dir


def test_debian_as_root_installs_the_packages_as_before(tmp_path: Path) -> None:
    bin_dir = apt_machine(tmp_path, uid="0", apt=True)
    out = make("system-deps", f"VENV={tmp_path / 'venv'}", path=str(bin_dir))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "apt.log").read_text().splitlines() == [
        "update -qq", "install -y -qq libblis4-pthread libopenblas0-pthread",
        "update -qq", "install -y -qq chromium bubblewrap"]
    assert "skipping" not in out.stdout


def test_a_mac_skips_apt_with_a_neutral_message(tmp_path: Path) -> None:
    bin_dir = apt_machine(tmp_path, uid="501", apt=False)
    out = make("system-deps", f"VENV={tmp_path / 'venv'}", "UNAME_S=Darwin", path=str(bin_dir))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "skipping apt packages (not Debian/root): none needed on macOS (MLX runs on Metal)",
        f"skipping apt packages (not Debian/root): install Chromium or Google Chrome (or: {tmp_path}/venv/bin/"
        "playwright install chromium) for browser tests"]


def test_debian_without_root_says_what_to_install(tmp_path: Path) -> None:
    bin_dir = apt_machine(tmp_path, uid="1000", apt=True)
    out = make("system-deps", f"VENV={tmp_path / 'venv'}", "UNAME_S=Linux", path=str(bin_dir))
    assert not (tmp_path / "apt.log").exists()
    assert "skipping apt packages (not Debian/root): install chromium for browser tests and bubblewrap" in out.stdout
