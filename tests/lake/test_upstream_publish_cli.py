"""``mlx-bench-publish``: the seed project's command, flag for flag and exit code for exit code.

The upload goes to the Hugging Face doubles of tests/lake/fake_hub.py (no machine here reaches the hub):
``FakeHfApi`` records the commit, ``FakeHubServer`` answers 401 to prove the token never reaches a log line.
"""

from __future__ import annotations

import importlib
import json
import shutil
import tomllib
from pathlib import Path

import pytest
from tests.lake.fake_hub import FakeHfApi, FakeHubServer

from mlx_benchmarks.cli.seed_publish import main
from mlx_benchmarks.lake.location import parse_location
from mlx_benchmarks.lake.upstream_publish import HfDataWriter
from mlx_benchmarks.lake.upstream_read import read_upstream

ROOT = Path(__file__).resolve().parents[2]
LM_EVAL = ROOT / "tests" / "fixtures" / "imports" / "lm_eval_results.json"
VLLM = ROOT / "tests" / "fixtures" / "imports" / "vllm_bench_serve.json"
SEED_FIXTURE = ROOT.parent / "shared" / "upstream" / "tests" / "fixtures" / "lm_eval_results_sample.json"
TOKEN = "hf_SeedPublishTokenNeverPrinted42"
REPO = "acme/bench"


@pytest.fixture(autouse=True)
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(key, raising=False)


def writer(api: FakeHfApi, repo: str = REPO) -> HfDataWriter:
    return HfDataWriter(parse_location(f"hf://datasets/{repo}"), api=api, env={"HF_TOKEN": TOKEN})


def test_the_console_script_is_declared() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["mlx-bench-publish"].partition(":")
    assert callable(getattr(importlib.import_module(module), name))


@pytest.mark.parametrize("fixture", [LM_EVAL, SEED_FIXTURE], ids=["ours", "seed"])
def test_the_seed_ci_dry_run_works_unchanged(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not fixture.is_file():
        pytest.skip("the seed's fixture is not beside the checkout")
    # the seed's CI step: mlx-bench-publish FIXTURE --kind lm-eval --suite reasoning --git-sha "${SHA:0:7}" --dry-run
    assert main([str(fixture), "--kind", "lm-eval", "--suite", "reasoning", "--git-sha", "abcdef0", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "dry-run: would publish" in err and "in JacobPEvans/mlx-benchmarks" in err
    planned = err.strip().splitlines()[-1]
    assert " INFO mlx_benchmarks.cli: planned -> data/run-" in planned and "-abcdef0-reasoning-" in planned


def test_upload_is_one_commit_of_the_seed_file_with_every_flag_applied(tmp_path: Path) -> None:
    api = FakeHfApi(files=[".gitattributes"])
    argv = [str(LM_EVAL), "--suite", "reasoning", "--model", "org/Model-1", "--git-sha", "abcdef0", "--trigger", "pr",
            "--pr-number", "17", "--timestamp", "2026-05-01T12:00:00Z", "--tag", "runner=ci", "--tag", "note=a=b",
            "--repo-id", REPO]
    assert main(argv, writer=writer(api)) == 0
    [commit] = api.commits
    [op] = commit["operations"]
    assert commit["repo_id"] == REPO and commit["repo_type"] == "dataset"
    assert commit["message"] == "feat: add reasoning run for org/Model-1"
    assert op.path_in_repo.startswith("data/run-2026-05-01T12-00-00-abcdef0-reasoning-org-model-1-")
    envelope = read_upstream(op.path_or_fileobj)
    assert (envelope["trigger"], envelope["pr_number"], envelope["timestamp"]) == ("pr", 17, "2026-05-01T12:00:00Z")
    assert all(r["tags"]["runner"] == "ci" and r["tags"]["note"] == "a=b" for r in envelope["results"])
    assert main(argv, writer=writer(api)) == 0  # the same file is there: nothing uploaded
    assert len(api.commits) == 1


def test_vllm_kind_and_json_logs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(VLLM), "--kind", "vllm", "--suite", "throughput", "--git-sha", "abcdef0", "--dry-run",
                 "--log-format", "json", "--repo-id", REPO]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert {line["level"] for line in lines} == {"INFO"} and {line["logger"] for line in lines} == {"mlx_benchmarks.cli"}
    assert lines[-1]["message"].startswith("planned -> data/run-") and "-throughput-" in lines[-1]["message"]


@pytest.mark.parametrize("argv, code, message", [
    (["missing.json", "--suite", "reasoning"], 2, "no such file"),
    (["BAD", "--suite", "reasoning"], 2, "not JSON"),
    (["LM", "--suite", "no-such-suite", "--git-sha", "abcdef0", "--dry-run"], 3, "suite"),
    (["LM", "--suite", "reasoning", "--git-sha", "not-a-sha", "--dry-run"], 3, "git_sha"),
    (["LM", "--suite", "reasoning", "--tag", "novalue", "--dry-run"], 2, "invalid --tag 'novalue'"),
    (["LM", "--suite", "reasoning", "--tag", "=x", "--dry-run"], 2, "empty key"),
    (["LM", "--suite", "reasoning", "--git-sha", "abcdef0"], 4, "HF_TOKEN"),
    (["LM"], 2, "--suite"),
    (["LM", "--suite", "reasoning", "--kind", "csv"], 2, "--kind"),
])
def test_exit_codes_are_the_seeds(argv: list[str], code: int, message: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    argv = [{"LM": str(LM_EVAL), "BAD": str(bad)}.get(a, a) for a in argv]
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse
        got = int(exc.code or 0)
    err = capsys.readouterr().err.strip().splitlines()
    assert got == code
    assert len(err) <= 2 and message in err[-1]  # one error line (after the "built envelope" line)


def test_no_validate_publishes_what_validation_would_refuse(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(LM_EVAL), "--suite", "no-such-suite", "--git-sha", "abcdef0", "--dry-run", "--no-validate"]) == 0
    assert "-no-such-suite-" in capsys.readouterr().err


def test_a_rejected_token_is_exit_4_and_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(tmp_path / "hub", ignore_errors=True)
    (tmp_path / "hub").mkdir()
    with FakeHubServer(tmp_path / "hub", repo=REPO, reject=True) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        code = main([str(LM_EVAL), "--suite", "reasoning", "--git-sha", "abcdef0", "--repo-id", REPO])
    err = capsys.readouterr().err
    assert code == 4 and "HF upload failed for data/run-" in err and "401" in err
    assert TOKEN not in err and hub.requests
