"""``mlx-bench import --kind lm-eval|vllm|llama-bench FILE --suite S``: bring other tools' results in."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, err_console, print_json
from mlx_benchmarks.cli.input_files import read_text_bounded
from mlx_benchmarks.envelope import suite_names
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.fileio import atomic_write_text
from mlx_benchmarks.importers import IMPORTERS, get_importer
from mlx_benchmarks.importers.common import ImportContext
from mlx_benchmarks.store import Store
from mlx_benchmarks.system import detect_git_sha, detect_system, detect_trigger


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("import", help="import lm-eval, vLLM bench or llama-bench results")
    parser.add_argument("--kind", required=True, choices=sorted(IMPORTERS))
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--suite", required=True, help="the envelope suite, e.g. reasoning or throughput")
    parser.add_argument("--model", default=None, help="override the model name found in the file")
    parser.add_argument("--git-sha", default=None)
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                        help="a tag on every result (repeatable), as mlx-bench-publish --tag")
    parser.add_argument("--output", metavar="FILE", default=None, help="also write the envelope to FILE")
    parser.add_argument("--no-store", action="store_true", help="do not store, only print or write the envelope")
    parser.add_argument("--json", action="store_true", help="print the envelope")
    add_store_option(parser)
    parser.set_defaults(func=run)


def read_json(path: Path) -> Any:
    """The file's JSON (NaN and Infinity read as floats: the importers drop them and say so); UsageError for
    anything unreadable: missing, too large, not UTF-8, not JSON, nested too deep, an integer past the
    digit limit."""
    try:
        return json.loads(read_text_bounded(path))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:  # an integer past Python's digit limit
        raise UsageError(f"{path}: not JSON this tool can read ({str(exc)[:120]})") from None
    except RecursionError:
        raise UsageError(f"{path}: JSON nested too deep") from None


def parse_tags(pairs: list[str]) -> dict[str, str]:
    """``--tag KEY=VALUE`` pairs; UsageError for one without ``=`` or a key."""
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag {pair!r}: expected KEY=VALUE")
        tags[key] = value
    return tags


def run(args: argparse.Namespace) -> int:
    if args.suite not in suite_names():
        raise UsageError(f"unknown suite {args.suite!r}; the schema allows: {', '.join(suite_names())}")
    tags = parse_tags(args.tag)
    path = Path(args.file)
    document = read_json(path)
    ci = detect_trigger()
    context = ImportContext(source=path.name, suite=args.suite, model=args.model,
                            git_sha=args.git_sha or detect_git_sha(), system=detect_system(),
                            trigger=ci.trigger, pr_number=ci.pr_number, extra_tags=tags)  # type: ignore[arg-type]
    convert = get_importer(args.kind)
    try:
        envelope = convert(document, context).validated()
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        # a field of an unexpected type or value deep in the file: the file, not the harness, is at fault
        raise UsageError(f"{path}: not a {args.kind} results file the importer understands "
                         f"({type(exc).__name__}: {str(exc)[:160]})") from None
    for line in envelope.get("errors", []):  # what the importer skipped is said here too, not only in errors[]
        err_console().print(f"mlx-bench: warning: {line}", markup=False, highlight=False, soft_wrap=True)
    if args.output:
        try:
            atomic_write_text(Path(args.output), json.dumps(envelope, indent=2) + "\n")
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    if args.json:
        print_json(envelope)
    if args.no_store:
        return 0
    from mlx_benchmarks.cli.common import store_location

    stored = Store(store_location(args, writing=True)).put(envelope)
    if not args.json:
        state = "stored" if stored.created else "already stored"
        console().print(f"{state}: {stored.run_id} ({len(envelope['results'])} results)", markup=False, soft_wrap=True)
    return 0
