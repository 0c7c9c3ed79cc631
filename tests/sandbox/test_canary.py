"""The canary: a sandbox that cannot tell a right program from a wrong one refuses before any generation.

Run for real on every backend that works here (bwrap, rlimit-root, none) in both semantics. The broken
sandboxes are real runs with a test-double interpreter (MLX_BENCH_SANDBOX_PYTHON): one whose
socketpair() is refused, as a too-tight profile would, and one whose runner passes every program.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.sandbox import launch as sandbox_launch
from mlx_benchmarks.sandbox.backend import SandboxUnavailable
from mlx_benchmarks.sandbox.canary import GOOD, WRONG, canary_specs, run_canary
from mlx_benchmarks.sandbox.run import check_solution
from mlx_benchmarks.store import Store
from tests.sandbox.backends import ISOLATING

HERE = Path(__file__).parent
BWRAP = pytest.mark.skipif(not sandbox_launch.bwrap_works(), reason="bubblewrap is not usable here")
KINDS = [*ISOLATING, "none"]
DOUBLES = "py:tests.doubles.gold_target:"


@pytest.fixture(autouse=True)
def fresh_canary() -> Iterator[None]:
    run_canary.cache_clear()
    sandbox_launch.sandbox_python.cache_clear()
    yield
    run_canary.cache_clear()
    sandbox_launch.sandbox_python.cache_clear()


@pytest.mark.parametrize("semantics", ["humaneval", "evalplus"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_backend_tells_right_from_wrong(kind: str, semantics: str) -> None:
    run_canary(kind, semantics)  # type: ignore[arg-type]  # raises if it cannot
    spec = canary_specs(semantics)  # type: ignore[arg-type]
    assert check_solution(spec, GOOD, kind=kind).passed  # type: ignore[arg-type]
    assert check_solution(spec, WRONG, kind=kind).error_type == "AssertionError"  # type: ignore[arg-type]


@BWRAP
@pytest.mark.parametrize(("double", "names"), [
    ("python_without_socketpair", "a known-good program was scored runtime_error (PermissionError"),
    ("python_that_passes_everything", "a known-wrong program was scored passed"),
])
def test_a_sandbox_that_cannot_judge_refuses(double: str, names: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLX_BENCH_SANDBOX_PYTHON", str(HERE / double))
    with pytest.raises(SandboxUnavailable) as refusal:
        run_canary("bwrap", "humaneval")
    message = str(refusal.value)
    assert "\n" not in message and message.startswith("the bwrap sandbox failed its canary (humaneval checks)")
    assert names in message


@BWRAP
@pytest.mark.parametrize(("suite", "flags"), [("coding", []), ("code-accuracy", ["--samples", "2", "--k", "1"])])
def test_the_code_suites_refuse_before_any_generation(suite: str, flags: list[str], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "requests.log"
    monkeypatch.setenv("GOLD_TARGET_LOG", str(log))
    monkeypatch.setenv("MLX_BENCH_SANDBOX", "bwrap")
    monkeypatch.setenv("MLX_BENCH_SANDBOX_PYTHON", str(HERE / "python_without_socketpair"))
    store = tmp_path / "store"
    code = main(["run", suite, "--target", DOUBLES + "gold_target", "--limit", "1", "--store", str(store),
                 "--git-sha", "abcdef0", *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("mlx-bench: error: the bwrap sandbox failed its canary")
    assert not log.exists() or log.read_text().split() == []
    assert not store.exists() or Store(store).run_ids() == []
