"""The code sandbox: every backend, the launcher, the watch and the verdict in one place.

``run`` executes a model's program and reports a verdict; ``backend`` chooses bwrap, seatbelt, rlimit-root
or none from the platform facts; ``launch`` builds each backend's command; ``seatbelt`` writes the macOS
profile; ``watch`` polices the process tree; ``verdict`` classifies what came back; ``runner.py`` is the
source handed to the sandboxed interpreter (never imported).
"""

from __future__ import annotations

from mlx_benchmarks.sandbox.run import SandboxResult, check_many, check_solution, run_program, sandbox_kind

__all__ = ["SandboxResult", "check_many", "check_solution", "run_program", "sandbox_kind"]
