"""``mlx-bench``: one entry point, one subcommand module each, one error handler.

Exit codes: 0 ok, 1 internal error, 2 usage / input / unavailable target, 3 invalid envelope,
4 publish failure, 5 regression found, 6 run incomplete (journal kept for --resume), 130 interrupted.
``mlx-bench`` alone prints the command list and
exits 0, as ``--help`` does.

Start-up stays fast: the command list below is static, so ``--help`` imports no command module, and a
command imports only its own module (heavy libraries such as pyarrow, DuckDB and jsonschema load there).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Collection, Sequence
from typing import Any

from mlx_benchmarks.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, BenchError

# name -> (module exposing register(subparsers), the one-line help of the command list); in listing order.
# A test checks each help line against what the module registers.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run_cmd", "run a benchmark suite against a target"),
    "sweep": ("sweep_cmd", "run suites on several targets from a TOML sweep file"),
    "fleet": ("fleet_cmd", "join a benchmark fleet on Ray, or list its nodes"),
    "validate": ("validate_cmd", "validate envelope files against the v1 schema"),
    "system": ("system_cmd", "show the detected system, software and CI context"),
    "runs": ("runs_cmd", "list stored runs"),
    "show": ("runs_cmd", "print one stored run's envelope"),
    "import": ("import_cmd", "import lm-eval, vLLM bench or llama-bench results"),
    "compare": ("compare_cmd", "compare two runs metric by metric, with confidence intervals"),
    "trend": ("trend_cmd", "find change points in metrics over time"),
    "publish": ("publish_cmd", "copy new runs to a shared lake (S3 bucket or Hugging Face dataset)"),
    "calibrate": ("calibrate_cmd", "measure the harness's own timing error and ceiling"),
    "report": ("report_cmd", "write a self-contained HTML report (charts inlined, no network)"),
    "dashboard": ("dashboard_cmd", "browse the store in a local web dashboard"),
    "datasets": ("datasets_cmd", "list, prepare (extract and cache) and describe datasets"),
    "tasks": ("tasks_cmd", "list every task (--tasks names): suite, scoring, size, licence, source"),
    "samples": ("samples_cmd", "show, filter or export one stored run's per-sample records"),
    "gc": ("gc_cmd", "remove unfinishable journals and stale staging folders"),
}
COMMAND_MODULES = tuple(dict.fromkeys(f"mlx_benchmarks.cli.{module}" for module, _ in COMMANDS.values()))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"mlx-bench: error: {message}{suggestion(self, message)}\n")
        raise SystemExit(EXIT_USAGE)


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """"; did you mean X?" for the closest of ``choices`` (difflib), else ""."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every flag of ``parser`` and its subcommands (argparse reports a subcommand's stray flag from the top)."""
    out: list[str] = []
    for action in parser._actions:
        out += action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                out += _option_strings(sub)
    return out


def suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    """The hint for argparse's "unrecognized arguments: --x" and "invalid choice: 'x'" errors."""
    import re

    if message.startswith("unrecognized arguments:"):
        flags = [word.split("=", 1)[0] for word in message.split(":", 1)[1].split() if word.startswith("-")]
        known = _option_strings(parser)
        for flag in flags:
            hint = did_you_mean(flag, known)
            if hint:
                return hint
        return ""
    choice = re.match(r"argument (\S+): invalid choice: '([^']*)'", message)
    if choice:
        action = next((a for a in parser._actions if choice.group(1) in (a.dest, a.metavar, *a.option_strings)), None)
        choices = action.choices if action is not None and action.choices else []
        return did_you_mean(choice.group(2), [str(c) for c in choices])
    return ""


class _HelpFormatter(argparse.HelpFormatter):
    """argparse measures command names one indent short, which wraps a long name's help onto its own line."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        subactions = action._get_subactions() if isinstance(action, argparse._SubParsersAction) else []
        names = [len(sub.metavar) for sub in subactions if isinstance(sub.metavar, str)]
        if names:
            widest = self._current_indent + self._indent_increment + max(names)
            self._action_max_length = max(self._action_max_length, widest)


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked (importlib.metadata is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version and exit", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from mlx_benchmarks import __version__

        sys.stdout.write(f"mlx-bench {__version__}\n")
        raise SystemExit(EXIT_OK)


def build_parser(load: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The top-level parser; ``load`` names the commands whose modules are imported (None: all of them).

    A command not loaded is listed with its help line only, so ``--help`` costs no command module.
    """
    parser = _Parser(prog="mlx-bench", description="Benchmark locally hosted LLMs for speed and quality.",
                     epilog="`mlx-bench COMMAND --help` lists a command's flags.", formatter_class=_HelpFormatter)
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=_Parser)
    subparsers.required = True
    wanted = {module for name, (module, _) in COMMANDS.items() if load is None or name in load}
    for name, (module, help_line) in COMMANDS.items():
        if module not in wanted:
            subparsers.add_parser(name, help=help_line, add_help=False)
        elif name not in subparsers.choices:  # a module may register several commands (runs, show)
            importlib.import_module(f"mlx_benchmarks.cli.{module}").register(subparsers)
    return parser


def one_line(message: str) -> str:
    """Errors are one line: fold whatever a dependency put on several."""
    return " ".join(message.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn every error into one line and an exit code; everything printed is redacted
    of credentials (a server may echo them into any message)."""
    from mlx_benchmarks.redact import redacted_console

    try:
        with redacted_console():
            return _main(argv)
    except KeyboardInterrupt:  # a Ctrl-C outside the command (parsing, printing) ends the same way
        sys.stderr.write("mlx-bench: interrupted\n")
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        sys.stdout.write(build_parser(load=()).format_help())
        return EXIT_OK
    if argv[:2] == ["run", "capability-comparison"]:  # several suites at once: flags go to each suite
        from mlx_benchmarks.cli import capability_cmd

        args = argparse.Namespace(func=capability_cmd.run, argv=argv[2:])
    elif argv[:1] == ["run"]:
        # `run` parses its own flags in two stages (the suite adds its own); argparse's REMAINDER
        # would refuse a leading option such as `run --resume KEY`
        from mlx_benchmarks.cli import run_cmd

        args = argparse.Namespace(func=run_cmd.run, argv=argv[1:])
    else:
        args = build_parser(load=argv[:1]).parse_args(argv)
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
    code = main()
    # the command is over: a Ctrl-C during interpreter teardown must not turn its exit status into a signal death
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(code)


if __name__ == "__main__":
    entry()
