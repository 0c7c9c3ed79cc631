"""How the model ran, on every result of a run: the target's ``ExecutionInfo`` and the GPU core count as tags.

The runner calls ``with_run_config_tags`` once per envelope, so every suite's results carry the same tags
(``weights_layout``, ``device``, ``compute_dtype``, ``blas``, ``gpu_cores``) without each suite knowing about
them. A target that does not know a value (an HTTP server that says nothing) gives no tag: nothing is guessed.
``gpu_cores`` is a fact of this machine, so it is only given when the model runs here (``info.local``).
"""

from __future__ import annotations

from collections.abc import Callable

from mlx_benchmarks.envelope import Result
from mlx_benchmarks.system import detect_gpu_cores
from mlx_benchmarks.targets.base import TargetInfo


def run_config_tags(info: TargetInfo, gpu_cores: Callable[[], int | None] = detect_gpu_cores) -> dict[str, str]:
    """The tags describing how ``info``'s model ran."""
    tags = info.execution.tags() if info.execution is not None else {}
    cores = gpu_cores() if info.local else None
    if cores is not None:
        tags["gpu_cores"] = str(cores)
    return tags


def with_run_config_tags(results: list[Result], info: TargetInfo,
                         gpu_cores: Callable[[], int | None] = detect_gpu_cores) -> list[Result]:
    """``results``, each tagged with ``run_config_tags`` (the target's own knowledge wins over a suite's)."""
    tags = run_config_tags(info, gpu_cores)
    for result in results:
        result.tag(**tags)
    return results
