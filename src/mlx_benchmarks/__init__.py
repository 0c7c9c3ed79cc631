"""mlx-benchmarks: speed and quality benchmarks for locally hosted LLMs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlx-benchmarks")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"

__all__ = ["__version__"]
