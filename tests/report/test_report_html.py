"""``mlx-bench report --html``: one self-contained file, escaped data, filters, one-line errors, atomic writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.report import html as report_html
from mlx_benchmarks.report.assets import inline_json, plotly_js, static_text
from tests.dashboard.store_builder import MODELS, XSS_IMG, XSS_MODEL, XSS_SCRIPT, BuiltStore


def _embedded(document: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', document, re.S)
    assert match is not None
    loaded: dict = json.loads(match.group(1))
    return loaded


def test_report_is_one_self_contained_file(built: BuiltStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--store", str(built.root), "--html", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    document = out.read_text(encoding="utf-8")
    assert static_text("svgplot.js")[:2000] in document  # charts drawn as inline SVG by the page itself
    assert plotly_js()[:2000] not in document  # not the 4.8 MB plotly.js bundle
    assert not re.search(r"""<(script|link|img|iframe)[^>]*\s(src|href)\s*=""", document, re.I)
    assert "default-src 'none'" in document  # CSP: the page may not fetch anything
    assert [f.name for f in tmp_path.iterdir()] == ["report.html"]


def test_report_data_matches_the_store(built: BuiltStore, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--store", str(built.root), "--html", str(out)]) == 0
    data = _embedded(out.read_text(encoding="utf-8"))
    assert data["catalog"]["n_runs"] == len(built.runs)
    board = next(b for b in data["leaderboards"] if b["suite"] == "throughput")
    assert {r["model"]: r["value"] for r in board["rows"]} == pytest.approx(
        {m: built.latest(m, "throughput").value("decode_tps", "throughput") for m in MODELS}
    )
    trend = next(t for t in data["trends"] if (t["suite"], t["name"]) == ("reasoning", "mmlu"))
    assert sum(len(s["points"]) for s in trend["series"]) == sum(r.suite == "reasoning" for r in built.runs)
    memory = {(m["model"], m["suite"]): m["peak_gb"] for m in data["memory"]}
    latest = built.latest(MODELS[2], "throughput").envelope["memory_snapshots"]
    assert memory[(MODELS[2], "throughput")] == pytest.approx(max(s["rss_gb"] for s in latest))


def test_store_strings_cannot_become_markup(built: BuiltStore, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--store", str(built.root), "--html", str(out), "--title", f"t{XSS_SCRIPT}"]) == 0
    document = out.read_text(encoding="utf-8")
    for hostile in (XSS_IMG, XSS_SCRIPT, "<img"):  # as text inside the JSON, "onerror=" is harmless
        assert hostile not in document
    assert "<title>t&lt;script&gt;" in document
    assert XSS_MODEL in json.dumps(_embedded(document))  # the text itself survives, escaped
    assert inline_json('{"a": "</script><b>&"}') == '{"a": "\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}'


def test_report_filters(built: BuiltStore, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", "--store", str(built.root), "--html", str(out), "--suite", "reasoning", "--model", "llama"]) == 0
    data = _embedded(out.read_text(encoding="utf-8"))
    assert [b["suite"] for b in data["leaderboards"]] == ["reasoning"]
    assert {r["model"] for r in data["runs"]} == {MODELS[1]}
    assert data["catalog"]["n_runs"] == sum(r.suite == "reasoning" and r.model == MODELS[1] for r in built.runs)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--store", "{store}", "--html", "{tmp}/r.html", "--suite", "ttft"], "no stored runs"),
        (["--store", "{store}", "--html", "{tmp}/missing-dir/r.html"], "does not exist"),
        (["--store", "{store}", "--html", "{tmp}"], "is a directory"),
        (["--store", "{tmp}/no-store", "--html", "{tmp}/r.html"], "no results store"),
        (["--store", "{store}"], "needs --html"),
    ],
)
def test_bad_input_is_one_line(
    built: BuiltStore, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    filled = [a.replace("{store}", str(built.root)).replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["report", *filled]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def test_failed_render_leaves_the_old_file_whole(built: BuiltStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report.html"
    out.write_text("previous report", encoding="utf-8")

    def broken_write(handle_path: Path, data: bytes) -> None:
        temp = handle_path.with_name(".partial.tmp")
        temp.write_bytes(data[:100])
        temp.unlink()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_html, "_replace_file", broken_write)
    assert main(["report", "--store", str(built.root), "--html", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_replace_file_cleans_up_its_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.html"
    target.write_text("old", encoding="utf-8")

    def fail_replace(src: object, dst: object) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(report_html.os, "replace", fail_replace)
    with pytest.raises(OSError):
        report_html._replace_file(target, b"new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.html"]
