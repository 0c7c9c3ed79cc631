"""A CLI that starts fast and shows itself: bare ``mlx-bench`` lists the commands; ``--help`` imports nothing heavy.

The start-up figure itself is measured by benchmarks/cli_startup.py; here we assert what makes it fast (which
modules load), which does not depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from mlx_benchmarks.cli.main import COMMANDS, build_parser, main

MARKER = "--- modules ---"
CHILD = f"""
import sys
from mlx_benchmarks.cli.main import entry
try:
    entry()
finally:
    sys.stderr.write("{MARKER}\\n" + "\\n".join(sorted(sys.modules)) + "\\n")
"""
HEAVY = ("pyarrow", "duckdb", "jsonschema", "rich", "aiohttp", "numpy", "plotly", "mlx", "importlib.metadata")


def imported_modules(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``mlx-bench ARGS`` in a fresh interpreter: the process and every module in ``sys.modules`` at exit.

    The child does what the installed ``mlx-bench`` script does (import ``entry``, call it), then lists
    ``sys.modules`` on stderr after a marker line. (``-X importtime`` misses ``importlib.import_module``.)
    """
    process = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "COLUMNS": "80"})
    _, _, listing = process.stderr.partition(MARKER + "\n")
    modules = set(listing.split())
    assert "mlx_benchmarks.cli.main" in modules  # the listing was read at all
    return process, modules


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize("args", [("--help",), ()])
def test_help_and_bare_import_no_heavy_module(args: tuple[str, ...]) -> None:
    process, modules = imported_modules(*args)
    assert process.returncode == 0, process.stderr[-2000:]
    assert heavy(modules) == []
    assert not any(m.startswith("mlx_benchmarks.cli.") and m.endswith("_cmd") for m in modules)


def test_version_reads_the_installed_version_and_nothing_else_heavy() -> None:
    process, modules = imported_modules("--version")
    assert process.returncode == 0 and process.stdout.startswith("mlx-bench ")
    assert [m for m in heavy(modules) if not m.startswith("importlib.metadata")] == []


@pytest.mark.parametrize(("args", "allowed"), [(("runs", "--help"), set()), (("show", "--help"), set()),
                                               (("datasets", "list"), {"rich", "importlib"})])
def test_commands_that_need_no_store_load_no_duckdb(args: tuple[str, ...], allowed: set[str]) -> None:
    process, modules = imported_modules(*args)
    assert process.returncode == 0, process.stderr[-2000:]
    assert {m.split(".")[0] for m in heavy(modules)} <= allowed


def test_a_command_imports_only_its_own_module() -> None:
    process, modules = imported_modules("system", "--help")
    assert process.returncode == 0, process.stderr[-2000:]
    commands = {m for m in modules if m.startswith("mlx_benchmarks.cli.") and m.endswith("_cmd")}
    assert commands == {"mlx_benchmarks.cli.system_cmd"}


def test_bare_mlx_bench_prints_every_command_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mlx-bench")
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("    ") and line[4] != " "]
    assert listed == list(COMMANDS)
    assert max(len(line) for line in out.splitlines()) <= 80


def test_unknown_command_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["nonesuch"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "invalid choice: 'nonesuch'" in err


def test_the_static_command_list_matches_what_each_module_registers() -> None:
    parser = build_parser()  # every module loaded
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    registered = {choice.dest: choice.help for choice in subparsers._choices_actions}
    assert registered == {name: help_line for name, (_, help_line) in COMMANDS.items()}


def test_a_lazily_listed_command_still_parses_its_own_flags() -> None:
    args = build_parser(load=["runs"]).parse_args(["runs", "--limit", "3"])
    assert args.limit == 3 and callable(args.func)
