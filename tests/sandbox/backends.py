"""The isolating sandbox backends as test parameters, each skipped where this machine cannot run it."""

from __future__ import annotations

import pytest

from mlx_benchmarks.sandbox import launch as sandbox_launch

BWRAP = pytest.param("bwrap", marks=pytest.mark.skipif(not sandbox_launch.bwrap_works(),
                                                       reason="bubblewrap is not usable here"))
RLIMIT_ROOT = pytest.param("rlimit-root", marks=pytest.mark.skipif(not sandbox_launch.namespaces_work(),
                                                                   reason="needs root and permission to create namespaces"))
ISOLATING = [BWRAP, RLIMIT_ROOT]
