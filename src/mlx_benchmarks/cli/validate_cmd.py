"""``mlx-bench validate FILE...``: check envelopes against the v1 schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlx_benchmarks.cli.common import print_json
from mlx_benchmarks.cli.input_files import read_text_bounded
from mlx_benchmarks.envelope import capped_errors, validation_errors
from mlx_benchmarks.errors import EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("validate", help="validate envelope files against the v1 schema")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.set_defaults(func=run)


def check_file(path: Path) -> dict[str, Any]:
    """{file, status: valid|invalid|unreadable, errors: [...], error_count}: at most the first 20 errors, each
    cut at 300 characters, then "and N more" (a 20 MB string or 30,000 nested errors must not flood stderr)."""
    try:
        # NaN and Infinity are read as floats so that validation names where they are
        document = json.loads(read_text_bounded(path))
    except OSError as exc:
        return {"file": str(path), "status": "unreadable", "errors": [f"cannot read: {exc.strerror or exc}"]}
    except UsageError as exc:  # too large, or a FIFO, socket, device or directory
        return {"file": str(path), "status": "unreadable", "errors": [str(exc).removeprefix(f"{path}: ")]}
    except UnicodeDecodeError:
        return {"file": str(path), "status": "unreadable", "errors": ["not UTF-8 text"]}
    except json.JSONDecodeError as exc:
        return {"file": str(path), "status": "unreadable", "errors": [f"not JSON: {exc.msg} at line {exc.lineno}"]}
    except ValueError as exc:  # an integer past Python's digit limit
        return {"file": str(path), "status": "unreadable", "errors": [f"not JSON this tool reads: {str(exc)[:120]}"]}
    except RecursionError:
        return {"file": str(path), "status": "unreadable", "errors": ["JSON nested too deep"]}
    errors = validation_errors(document)
    return {"file": str(path), "status": "invalid" if errors else "valid", "errors": capped_errors(errors),
            "error_count": len(errors)}


def run(args: argparse.Namespace) -> int:
    outcomes = [check_file(Path(name)) for name in args.files]
    if args.json:
        print_json(outcomes)
    else:
        for outcome in outcomes:
            if outcome["status"] == "valid":
                sys.stdout.write(f"{outcome['file']}: valid\n")
            for error in outcome["errors"]:
                sys.stderr.write(f"{outcome['file']}: {error}\n")
    statuses = {o["status"] for o in outcomes}
    if "unreadable" in statuses:
        return EXIT_USAGE
    return EXIT_INVALID if "invalid" in statuses else EXIT_OK
