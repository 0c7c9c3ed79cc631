"""Run a battery script as uid 65534 under ``setpriv`` with the system python3 (ours lives under /root,
which other users cannot enter): shared by the forgery and hostile batteries' non-root tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlx_benchmarks.sandbox import launch as sandbox_launch

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
NOBODY = 65534


def cannot_run_as_nobody() -> str | None:
    """Why the battery cannot run as another user here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root to switch to another user"
    if shutil.which("setpriv") is None or not os.path.exists(SYSTEM_PYTHON):
        return "needs setpriv and a system python3"
    if not sandbox_launch.bwrap_works():
        return "bubblewrap is not usable here"
    minor = subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True, check=False).stdout.strip()
    if minor != str(sys.version_info[:2]):
        return f"the system python3 {minor} cannot load this environment's {sys.version_info[:2]} packages"
    return None


def run_as_nobody(script: str, tmp_path: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run tests/sandbox/SCRIPT as nobody with this checkout and our site-packages on its path."""
    site = next(p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix))
    home = tmp_path / "nobody-home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    tmp_path.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO), site])}
    return subprocess.run(["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups", SYSTEM_PYTHON,
                           str(REPO / "tests" / "sandbox" / script)],
                          cwd="/", env=env, capture_output=True, text=True, timeout=timeout, check=False)
