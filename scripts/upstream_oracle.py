"""Run the seed project's own publisher and viewer (the oracle) and keep what they produce as test data.

The seed (JacobPEvans/mlx-benchmarks, the commit in ``<upstream>/COMMIT``) has a package of the same name
as ours, so its code runs in a child process whose ``sys.path`` starts at ``<upstream>/src`` and which never
imports our package (``--worker``). It runs the seed's ``envelope_to_rows``/``rows_to_parquet``/
``target_path`` on our envelopes (tests/fixtures/upstream_oracle/envelopes/, made by
scripts/upstream_oracle_envelopes.py), its converters on its own fixtures, its example envelope, and the
first publisher (``scripts/publish_run.py`` of commit a9e5608, when ``--legacy-script`` gives it); and its
viewer (``space/app.py``, gradio replaced by an empty module) reading a folder through the real
``HfFileSystem`` against a loopback hub (tests/lake/fake_hub.py). Usage, from the checkout root:

    PYTHONPATH=. .venv/bin/python scripts/upstream_oracle.py [--upstream ../shared/upstream] [--out DIR]
        [--legacy-script publish_run_a9e5608.py]

Without ``--out`` it rewrites tests/fixtures/upstream_oracle/ (manifest.json, seed/, viewer_*.json).
tests/lake/test_upstream_oracle.py runs the same worker live when the seed's code is beside the checkout.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "upstream_oracle"
SEED_REPO = "JacobPEvans/mlx-benchmarks"  # the dataset the viewer reads
# the context the seed's converters get for its fixtures (what its CI's dry run passes, fixed for repeatability)
CONTEXT = {"git_sha": "aaa3ff3", "timestamp": "2026-04-24T18:30:00Z", "trigger": "local",
           "system": {"os": "macOS 26.4.1", "chip": "Apple M4 Max", "memory_gb": 128}}
CONVERTED = (("seed_lm_eval", "lm-eval", "lm_eval_results_sample.json", "reasoning"),
             ("seed_vllm", "vllm", "vllm_benchmark_serving_sample.json", "throughput"))


# ── the worker: the seed's code only ─────────────────────────────────────────────────────────────────


def _seed_timestamp(text: str) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def worker_publish(upstream: Path, envelopes: Path, out: Path, legacy: Path | None) -> None:
    """The seed publisher's files for every envelope, its converters' envelopes and files, its first version's
    file; ``out/manifest.json`` says which is which."""
    from mlx_benchmarks.converters import get_converter
    from mlx_benchmarks.converters.base import ConverterContext
    from mlx_benchmarks.publish import envelope_to_rows, rows_to_parquet, target_path

    from mlx_benchmarks.envelope import validate_envelope

    data = out / "seed" / "data"
    data.mkdir(parents=True)
    manifest: dict[str, Any] = {"ours": {}, "converted": {}}

    def write(envelope: dict[str, Any]) -> str:
        payload = rows_to_parquet(envelope_to_rows(envelope))  # type: ignore[arg-type]
        path = target_path(envelope, payload=payload)  # type: ignore[arg-type]
        (out / "seed" / path).write_bytes(payload)
        return path

    for file in sorted(envelopes.glob("*.json")):
        envelope = json.loads(file.read_text())
        # the seed's converters write whole seconds; its viewer cannot parse a mix (see viewer_mixed below)
        as_seed = {**envelope, "timestamp": _seed_timestamp(envelope["timestamp"])}
        manifest["ours"][file.stem] = {"seed_file": write(as_seed), "stem": target_path(envelope)[:-len(".parquet")]}
        if "verbatim" not in manifest and as_seed["timestamp"] != envelope["timestamp"]:
            payload = rows_to_parquet(envelope_to_rows(envelope))  # type: ignore[arg-type]
            manifest["verbatim"] = {"name": file.stem, "seed_file": target_path(envelope, payload=payload)}  # type: ignore[arg-type]
            (out / "seed" / "verbatim" / "data").mkdir(parents=True)
            (out / "seed" / "verbatim" / manifest["verbatim"]["seed_file"]).write_bytes(payload)
    example = json.loads((upstream / "examples" / "envelope.valid.json").read_text())
    validate_envelope(example)
    manifest["converted"]["seed_example"] = {"seed_file": write(example), "envelope": example}
    for name, kind, fixture, suite in CONVERTED:
        raw = json.loads((upstream / "tests" / "fixtures" / fixture).read_text())
        context = ConverterContext(suite=suite, model=raw.get("model_name") or raw.get("model_id") or "unknown",
                                   git_sha=CONTEXT["git_sha"], trigger=CONTEXT["trigger"],
                                   timestamp_override=CONTEXT["timestamp"], system=dict(CONTEXT["system"]))
        envelope = get_converter(kind).build_envelope(raw, context)
        validate_envelope(envelope)  # a file the seed's publish() would upload
        manifest["converted"][name] = {"seed_file": write(dict(envelope)), "envelope": envelope}
    if legacy is not None:  # the first publisher: no validation, no hash in the name
        namespace: dict[str, Any] = {"__name__": "publish_run_legacy"}
        exec(compile(legacy.read_text(), str(legacy), "exec"), namespace)
        raw = json.loads((upstream / "tests" / "fixtures" / "lm_eval_results_sample.json").read_text())
        envelope = namespace["build_envelope"](raw, suite="reasoning", model=raw["model_name"], sha="aaa3ff3")
        payload = namespace["rows_to_parquet"](namespace["envelope_to_rows"](envelope))
        path = namespace["publish"](payload, envelope, dry_run=True)
        legacy_data = out / "seed" / "legacy" / path
        legacy_data.parent.mkdir(parents=True)
        legacy_data.write_bytes(payload)
        manifest["legacy"] = {"seed_file": path, "envelope": envelope}
    (out / "seed" / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")  # key order kept: a tag order is a column order


def _figure(fig: Any) -> dict[str, Any]:
    """What a chart shows: each trace's kind, name, points and labels; the title, axis range and height."""
    import plotly.io

    whole = json.loads(plotly.io.to_json(fig))
    keep = ("type", "name", "x", "y", "text", "orientation", "mode")
    layout = whole.get("layout", {})
    return {"data": [{k: t[k] for k in keep if k in t} for t in whole.get("data", [])],
            "title": (layout.get("title") or {}).get("text"),
            "annotations": [a.get("text") for a in layout.get("annotations", [])],
            "xaxis_range": (layout.get("xaxis") or {}).get("range"), "height": layout.get("height")}


# the columns the seed's publisher writes (tag_* aside) and the one its viewer adds
SEED_COLUMNS = {"schema_version", "timestamp", "git_sha", "trigger", "suite", "model", "os", "chip", "memory_gb",
                "model_revision", "quantization", "seed", "name", "metric", "value", "unit", "duration_seconds",
                "model_short"}


def _records(frame: Any, *, seed_only: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso"))
    if not seed_only:
        return rows
    # a row's null columns and the columns only our writer adds are left out (the file would be megabytes)
    return [{k: v for k, v in row.items() if v is not None and (k in SEED_COLUMNS or k.startswith("tag_"))}
            for row in rows]


def worker_view(upstream: Path, root: Path, out: Path) -> None:
    """The seed viewer's load_data over ``root/data`` (served by a loopback hub), and every bar chart, trend
    chart and summary table its UI can show for that data, as JSON in ``out``."""
    sys.path.insert(0, str(ROOT))
    from tests.lake.fake_hub import FakeHubServer

    with FakeHubServer(root, repo=SEED_REPO) as hub:
        os.environ["HF_ENDPOINT"] = hub.url  # read when huggingface_hub is imported, below
        os.environ.pop("HF_TOKEN", None)
        sys.modules["gradio"] = types.ModuleType("gradio")  # the UI is not under test; app.py imports it
        sys.path.insert(0, str(upstream / "space"))
        import app

        try:
            df = app.load_data()
        except Exception as exc:  # the seed viewer's own failure is a result too
            out.write_text(json.dumps({"error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}) + "\n")
            return
    combos = sorted({(s, n, m) for s, n, m in zip(df["suite"], df["name"], df["metric"], strict=True)
                     if isinstance(n, str) and isinstance(m, str)})
    models = sorted(set(df["model_short"].dropna()))
    result = {
        "columns": list(df.columns),
        "dtypes": {c: str(t) for c, t in df.dtypes.items()},
        "rows": _records(df, seed_only=True),
        "bar": {"|".join(c): _figure(app.bar_chart(df, *c)) for c in combos},
        "trend": {"|".join(c): _figure(app.trend_chart(df, *c, models)) for c in combos},
        "summary": {f"{s}|{m}": _records(app.summary_table(df, s, m)) for s, m in sorted({(c[0], c[2]) for c in combos})},
    }
    out.write_text(json.dumps(result, indent=None, sort_keys=True) + "\n")


# ── the driver: our side ─────────────────────────────────────────────────────────────────────────────


def run_worker(upstream: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(upstream / "src")}  # the seed's mlx_benchmarks, not ours
    env.pop("HF_TOKEN", None)
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", "--upstream", str(upstream), *args],
                   env=env, check=True, timeout=600, cwd=tempfile.gettempdir())


def content_digest(payload: bytes) -> str:
    """SHA-256 of a Parquet file's columns, types and values (not its bytes, which name the pyarrow version)."""
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(payload))
    document = {"schema": [[f.name, str(f.type)] for f in table.schema], "rows": table.to_pylist()}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def our_files(envelopes: dict[str, dict[str, Any]], root: Path) -> dict[str, str]:
    """Our writer's file for each envelope under ``root/data``; name -> ``content_digest`` of the file."""
    from mlx_benchmarks.lake.upstream import upstream_file

    (root / "data").mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, envelope in envelopes.items():
        file_name, payload = upstream_file(envelope)
        (root / "data" / file_name).write_bytes(payload)
        digests[name] = content_digest(payload)
    return digests


def produce(upstream: Path, out: Path, legacy: Path | None) -> dict[str, Any]:
    """Everything the oracle makes, under ``out`` (seed/, viewer_seed.json, viewer_ours.json, manifest.json)."""
    import pandas
    import plotly
    import pyarrow

    envelopes_dir = FIXTURES / "envelopes"
    run_worker(upstream, "publish", str(envelopes_dir), str(out), *(["--legacy-script", str(legacy)] if legacy else []))
    seed = json.loads((out / "seed" / "manifest.json").read_text())
    run_worker(upstream, "view", str(out / "seed"), str(out / "viewer_seed.json"))
    ours: dict[str, dict[str, Any]] = {name: json.loads((envelopes_dir / f"{name}.json").read_text()) for name in seed["ours"]}
    ours.update({name: entry["envelope"] for name, entry in seed["converted"].items()})
    with tempfile.TemporaryDirectory() as folder:
        digests = our_files(ours, Path(folder))
        run_worker(upstream, "view", folder, str(out / "viewer_ours.json"))
        # the seed's own files, one of them of a run with fractional seconds as the seed publishes it
        mixed = Path(folder) / "mixed"
        (mixed / "data").mkdir(parents=True)
        for entry in seed["converted"].values():
            shutil.copy(out / "seed" / entry["seed_file"], mixed / "data")
        shutil.copy(out / "seed" / "verbatim" / seed["verbatim"]["seed_file"], mixed / "data")
        run_worker(upstream, "view", str(mixed), str(out / "viewer_mixed.json"))
    manifest = {
        "upstream": "JacobPEvans/mlx-benchmarks",
        "upstream_commit": (upstream / "COMMIT").read_text().strip(),
        "legacy_publisher": "scripts/publish_run.py at a9e5608" if legacy else None,
        "versions": {"pyarrow": pyarrow.__version__, "pandas": pandas.__version__, "plotly": plotly.__version__},
        "command": "PYTHONPATH=. .venv/bin/python scripts/upstream_oracle.py",
        "ours_content": digests,
        **seed,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")  # key order kept: a tag order is a column order
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=Path, default=ROOT.parent / "shared" / "upstream")
    parser.add_argument("--out", type=Path, default=None, help="default: rewrite tests/fixtures/upstream_oracle/")
    parser.add_argument("--legacy-script", type=Path, default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("job", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    upstream = args.upstream.resolve()
    if args.worker:
        import mlx_benchmarks

        assert Path(mlx_benchmarks.__file__).resolve().is_relative_to(upstream), "the worker must run the seed's code"
        kind, *rest = args.job
        if kind == "publish":
            worker_publish(upstream, Path(rest[0]), Path(rest[1]), args.legacy_script)
        else:
            worker_view(upstream, Path(rest[0]), Path(rest[1]))
        return 0
    out = args.out or FIXTURES
    for stale in ("seed", "viewer_seed.json", "viewer_ours.json", "viewer_mixed.json", "manifest.json"):
        target = out / stale
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    manifest = produce(upstream, out, args.legacy_script)
    print(f"seed {manifest['upstream_commit'][:7]}: {len(manifest['ours'])} of our envelopes, "
          f"{len(manifest['converted'])} of the seed's, into {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
