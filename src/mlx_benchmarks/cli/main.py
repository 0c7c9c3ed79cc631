"""``mlx-bench``: one entry point, one subcommand module each, one error handler.

Exit codes: 0 ok, 1 internal error, 2 usage / input / unavailable target, 3 invalid envelope,
4 publish failure, 5 regression found, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from mlx_benchmarks import __version__
from mlx_benchmarks.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, BenchError

# one module per subcommand; each exposes register(subparsers)
COMMAND_MODULES = (
    "mlx_benchmarks.cli.run_cmd",
    "mlx_benchmarks.cli.sweep_cmd",
    "mlx_benchmarks.cli.validate_cmd",
    "mlx_benchmarks.cli.system_cmd",
    "mlx_benchmarks.cli.runs_cmd",
    "mlx_benchmarks.cli.import_cmd",
    "mlx_benchmarks.cli.compare_cmd",
    "mlx_benchmarks.cli.trend_cmd",
    "mlx_benchmarks.cli.publish_cmd",
    "mlx_benchmarks.cli.calibrate_cmd",
    "mlx_benchmarks.cli.report_cmd",
    "mlx_benchmarks.cli.dashboard_cmd",
    "mlx_benchmarks.cli.datasets_cmd",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"mlx-bench: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mlx-bench", description="Benchmark locally hosted LLMs for speed and quality.")
    parser.add_argument("--version", action="version", version=f"mlx-bench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def one_line(message: str) -> str:
    """Errors are one line: fold whatever a dependency put on several."""
    return " ".join(message.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn every error into one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        # `run` parses its own flags in two stages (the suite adds its own); argparse's REMAINDER
        # would refuse a leading option such as `run --resume KEY`
        from mlx_benchmarks.cli import run_cmd

        args = argparse.Namespace(func=run_cmd.run, argv=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except BenchError as exc:
        sys.stderr.write(f"mlx-bench: error: {one_line(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("mlx-bench: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # one line for users; MLX_BENCH_DEBUG=1 shows the traceback
        if os.environ.get("MLX_BENCH_DEBUG"):
            raise
        sys.stderr.write(f"mlx-bench: internal error: {type(exc).__name__}: {one_line(str(exc))}\n")
        return EXIT_FAILURE


def entry() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entry()
