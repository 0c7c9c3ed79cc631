"""mlx-benchmarks: speed and quality benchmarks for locally hosted LLMs."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # read on first use: importlib.metadata costs ~40 ms at import, which every CLI start would pay
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("mlx-benchmarks")
        except PackageNotFoundError:  # running from a source tree without install
            return "0.0.0+src"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
