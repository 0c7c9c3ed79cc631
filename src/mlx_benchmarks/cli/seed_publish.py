"""``mlx-bench-publish``: a drop-in for the seed project's command of that name.

Same arguments, defaults and exit codes (0 ok, 2 unreadable input or bad flags, 3 invalid envelope,
4 publish failed), same log lines on stderr (``--log-format text|json``), same upload: the file the
seed's publisher writes for the envelope, at ``data/<its target_path>`` of the dataset ``--repo-id``
(default ``JacobPEvans/mlx-benchmarks``), in one commit, with ``HF_TOKEN``. The raw file is converted by
our importers (``--kind`` picks one, as it picks the seed's converter). docs/upstream.md: what differs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlx_benchmarks.errors import EXIT_FAILURE, EXIT_USAGE, BenchError, UsageError

PROG = "mlx-bench-publish"
SEED_KINDS = ("lm-eval", "vllm")  # the seed's --kind choices; ours adds the other importers
TRIGGERS = ("local", "schedule", "pr", "workflow_dispatch")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
log = logging.getLogger("mlx_benchmarks.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{PROG}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from mlx_benchmarks.importers import IMPORTERS

    kinds = [*SEED_KINDS, *sorted(set(IMPORTERS) - set(SEED_KINDS))]
    parser = _Parser(prog=PROG, description="Convert a raw benchmark result to envelope v1 and publish it to the "
                     "Hugging Face dataset in the seed project's layout (data/run-….parquet).")
    parser.add_argument("results_json", type=Path, help="the raw tool output (e.g. lm-eval results_*.json)")
    parser.add_argument("--kind", default="lm-eval", choices=kinds, help="source format of results_json")
    parser.add_argument("--suite", required=True, help="envelope suite (must be in the schema's enum)")
    parser.add_argument("--model", help="override the model id (default: from results_json)")
    parser.add_argument("--git-sha", help="override the git SHA recorded (default: this checkout's)")
    parser.add_argument("--trigger", default="local", choices=TRIGGERS, help="envelope trigger field")
    parser.add_argument("--pr-number", type=int, help="pull request number when trigger=pr")
    parser.add_argument("--timestamp", help="override the envelope timestamp (ISO 8601 UTC)")
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                        help="attach a tag to every result (repeat for several)")
    parser.add_argument("--dry-run", action="store_true", help="validate and plan only; upload nothing")
    parser.add_argument("--no-validate", action="store_true", help="skip schema validation (not recommended)")
    parser.add_argument("--log-format", default="text", choices=["text", "json"])
    parser.add_argument("--log-level", default="INFO", choices=LEVELS)
    parser.add_argument("--repo-id", default=None, help="HF dataset repository (default: JacobPEvans/mlx-benchmarks)")
    return parser


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message (the seed's JSON log shape)."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps({"time": stamp, "level": record.levelname,
                           "logger": record.name, "message": record.getMessage()})


def configure_logging(level: str, fmt: str) -> None:
    """One stderr handler on our logger (replaced, not added, when called again)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("mlx_benchmarks")
    root.handlers = [handler]
    root.setLevel(level)
    root.propagate = False


def parse_tags(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs; UsageError for a pair without ``=`` or with an empty key."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"invalid --tag {pair!r}; expected KEY=VALUE")
        if not key:
            raise UsageError(f"invalid --tag {pair!r}; empty key")
        tags[key] = value
    return tags


def build_envelope(args: argparse.Namespace) -> dict[str, Any]:
    """The envelope of ``results_json`` through our importer for ``--kind``, with the flags applied."""
    from mlx_benchmarks.cli.import_cmd import read_json
    from mlx_benchmarks.importers import get_importer
    from mlx_benchmarks.importers.common import ImportContext
    from mlx_benchmarks.system import detect_git_sha, detect_system

    tags = parse_tags(args.tag)
    document = read_json(args.results_json)
    context = ImportContext(source=args.results_json.name, suite=args.suite, model=args.model,
                            git_sha=args.git_sha or detect_git_sha(), system=detect_system(),
                            trigger=args.trigger, pr_number=args.pr_number, extra_tags=tags)
    try:
        envelope = get_importer(args.kind)(document, context)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        raise UsageError(f"{args.results_json}: not a {args.kind} results file the importer understands "
                         f"({type(exc).__name__}: {str(exc)[:160]})") from None
    if args.pr_number is not None:  # the seed records it whatever the trigger
        envelope.pr_number = args.pr_number
    if args.timestamp:
        envelope.timestamp = args.timestamp
    for result in envelope.results:  # every importer, as the seed's converters do
        result.tags.update(tags)
    built: dict[str, Any] = envelope.to_json()
    return built


def publish_command(args: argparse.Namespace, writer: Any = None) -> int:
    from mlx_benchmarks.envelope import validate
    from mlx_benchmarks.lake.upstream_publish import SEED_REPO_ID, publish_seed_file

    envelope = build_envelope(args)
    log.info("built envelope with %d results for model=%s suite=%s", len(envelope["results"]),
             envelope["model"], envelope["suite"])
    if not args.no_validate:
        validate(envelope)
    repo_id = args.repo_id or SEED_REPO_ID
    done = publish_seed_file(envelope, repo_id, dry_run=args.dry_run, writer=writer)
    if args.dry_run:
        log.info("dry-run: would publish %d bytes to %s in %s", done.size, done.path, repo_id)
    elif done.present:
        log.info("%s is in %s already; nothing uploaded", done.path, repo_id)
    else:
        log.info("published %d-byte parquet to %s", done.size, done.path)
    log.info("%s -> %s", "planned" if args.dry_run else "published", done.path)
    return 0


def main(argv: Sequence[str] | None = None, *, writer: Any = None) -> int:
    """The command; ``writer`` replaces the hub (tests). Errors are one log line and their exit code."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    try:
        return publish_command(args, writer)
    except BenchError as exc:  # 2 unreadable input, 3 invalid envelope (EnvelopeInvalid), 4 publish failed
        log.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an internal error: one line, never a traceback that could hold a token
        from mlx_benchmarks.lake.location import describe

        log.error("internal error: %s", describe(exc))
        return EXIT_FAILURE


def entry() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entry()
