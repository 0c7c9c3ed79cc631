"""``mlx-bench publish --to URL``: copy new shards of the local store to a shared lake."""

from __future__ import annotations

import argparse
from typing import Any

from mlx_benchmarks.cli.common import add_store_option, console, print_json, store_location
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.paths import is_remote


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="copy new runs to a shared lake (S3 bucket or Hugging Face dataset)",
        description="Upload every local shard the lake does not have yet. Shards already there are "
        "skipped, never overwritten. s3:// uses MLX_BENCH_S3_ENDPOINT or AWS_ENDPOINT_URL and the usual "
        "AWS credentials; hf:// uses HF_TOKEN and makes one commit per publish.",
    )
    add_store_option(parser)
    parser.add_argument("--to", required=True, metavar="URL",
                        help="s3://bucket/prefix or hf://datasets/ORG/NAME (or a folder, with --layout upstream)")
    parser.add_argument("--layout", choices=("ours", "upstream"), default="ours",
                        help="ours: shard folders runs/<id>/ (default); upstream: one flat Parquet per run under data/, "
                        "the files the seed project's mlx-bench-publish writes and its viewer reads (docs/upstream.md)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded; write nothing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run_publish)


def run_publish(args: argparse.Namespace) -> int:
    from mlx_benchmarks.lake.publish import publish
    from mlx_benchmarks.store import Store

    location = store_location(args)
    if is_remote(location):
        raise UsageError("publish copies a local store; --store must be a directory")
    if args.layout == "upstream":
        from mlx_benchmarks.lake.upstream_publish import publish_upstream

        report = publish_upstream(Store(location), args.to, dry_run=args.dry_run)
    else:
        report = publish(Store(location), args.to, dry_run=args.dry_run)
    if args.json:
        print_json(report.to_json())
        return 0
    out = console()
    for run_id in report.new:
        out.print(f"{'would upload' if report.dry_run else 'uploaded'} {run_id}", markup=False)
    out.print(report.summary(), markup=False)
    return 0
