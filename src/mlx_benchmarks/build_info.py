"""Bake the project's commit into the installed package (``python -m mlx_benchmarks.build_info``).

``system.detect_git_sha`` falls back to it when the user runs outside any git checkout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main() -> int:
    root = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True,
                             timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sys.stderr.write("build_info: not a git checkout; nothing baked\n")
        return 0
    (root / "_build_info.json").write_text(json.dumps({"git_sha": sha}) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
