"""Run one suite against one target and store the envelope: the spine of ``mlx-bench run``."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from mlx_benchmarks.aio import run_coroutine
from mlx_benchmarks.envelope import Envelope, Result, utc_now_iso
from mlx_benchmarks.errors import TargetError, TargetUnavailable
from mlx_benchmarks.measure.memory import MemorySampler
from mlx_benchmarks.runner.journal import SampleJournal
from mlx_benchmarks.store import Store, StoredRun
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.registry import get_suite
from mlx_benchmarks.system import detect_git_sha, detect_system, detect_trigger
from mlx_benchmarks.targets.base import Target
from mlx_benchmarks.targets.registry import TargetSpec, make_target


@dataclass(frozen=True)
class RunRequest:
    """Everything ``mlx-bench run`` was asked to do, serialisable for ``--resume``."""

    suite: str
    spec: TargetSpec
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 1234
    skip_unavailable: bool = False
    trigger: str | None = None
    pr_number: int | None = None
    git_sha: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRequest:
        return cls(**{**data, "spec": TargetSpec(**data["spec"])})


@dataclass
class RunReport:
    """What happened: the stored run and the envelope."""

    stored: StoredRun
    envelope: dict[str, Any]
    run_key: str


def new_run_key(suite: str) -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{suite}-{secrets.token_hex(3)}"


class Runner:
    """Drives one RunRequest: detection, target lifecycle, memory phases, envelope, store."""

    def __init__(self, store: Store, console: Console) -> None:
        self.store = store
        self.console = console

    def _base_envelope(self, request: RunRequest, timestamp: str, model: str) -> Envelope:
        ci = detect_trigger()
        trigger = request.trigger or ci.trigger
        pr_number = request.pr_number if request.pr_number is not None else ci.pr_number
        return Envelope(
            suite=get_suite(request.suite).name,
            model=model,
            system=detect_system(),
            git_sha=request.git_sha or detect_git_sha(),
            timestamp=timestamp,
            trigger=trigger,  # type: ignore[arg-type]  # validated by the CLI choices
            pr_number=pr_number if trigger == "pr" else None,
            seed=request.seed,
        )

    def skipped(self, request: RunRequest, reason: str, timestamp: str) -> RunReport:
        """Store an envelope that says the suite was skipped, and why."""
        envelope = self._base_envelope(request, timestamp, request.spec.model or request.spec.label)
        envelope.skipped = True
        envelope.errors.append(reason)
        document = envelope.validated()
        return RunReport(self.store.put(document), document, "")

    async def run(self, request: RunRequest, resume_key: str | None = None) -> RunReport:
        suite = get_suite(request.suite)
        suite.validate_options(request.options)
        # detection first: a missing git sha must fail before any work
        git_sha = request.git_sha or detect_git_sha()
        request = RunRequest(**{**request.__dict__, "git_sha": git_sha})
        journal, run_key, timestamp = self._journal(request, resume_key)
        self.console.print(f"run key {run_key} (after an interruption: mlx-bench run --resume {run_key})",
                           markup=False, soft_wrap=True)
        sampler = MemorySampler(pid=request.spec.server_pid).start()
        before = sampler.snapshot("before")
        target = make_target(request.spec)
        try:
            await target.start()
        except TargetUnavailable as exc:
            sampler.stop()
            journal.discard()
            if request.skip_unavailable:
                return self.skipped(request, f"target unavailable: {exc}", timestamp)
            raise
        sampler.watch(target.info.pid)
        loaded = sampler.snapshot("loaded")
        try:
            outcome = await self._run_suite(suite, target, request, sampler, journal, run_key)
        except Exception:
            sampler.stop()
            if not journal.records():  # nothing to resume: leave no stale in-progress entry
                journal.discard()
            raise
        finally:
            peak = sampler.peak_sample()
            await target.stop()
        sampler.watch(None)
        after = sampler.snapshot("after")
        sampler.stop()
        envelope = self._base_envelope(request, timestamp, target.info.model)
        envelope.model_revision = target.info.model_revision
        envelope.quantization = target.info.quantization
        envelope.gen_kwargs = outcome.gen_kwargs
        envelope.results, unmeasured = drop_unmeasured(outcome.results)
        envelope.errors = [*outcome.errors, *unmeasured]
        snapshots = outcome.memory_snapshots or [before, loaded]
        if peak is not None and not any(s.phase == "peak" for s in snapshots):
            snapshots.append(sampler.snapshot("peak", peak))
        envelope.memory_snapshots = [*snapshots, after]
        if not envelope.results:
            # nothing succeeded: keep the record (and why) rather than lose it
            envelope.skipped = True
            envelope.errors.append("no results: every request of the run failed")
        document = envelope.validated()
        stored = self.store.put(document, outcome.samples or None)
        journal.discard()
        return RunReport(stored, document, run_key)

    def _journal(self, request: RunRequest, resume_key: str | None) -> tuple[SampleJournal, str, str]:
        root = Path(self.store.root)
        if resume_key:
            journal, config = SampleJournal.open(root, resume_key)
            return journal, resume_key, str(config["timestamp"])
        run_key = new_run_key(request.suite)
        timestamp = utc_now_iso()
        journal = SampleJournal.create(root, run_key, {"request": request.to_json(), "timestamp": timestamp})
        return journal, run_key, timestamp

    async def _run_suite(
        self,
        suite: Any,
        target: Target,
        request: RunRequest,
        sampler: MemorySampler,
        journal: SampleJournal,
        run_key: str,
    ) -> SuiteOutcome:
        ctx = RunContext(
            target=target,
            options=request.options,
            console=self.console,
            memory=sampler,
            run_key=run_key,
            seed=request.seed,
            journal=journal,
        )
        try:
            outcome: SuiteOutcome = await suite.run(ctx)
        except TargetError as exc:
            # the target died under the suite: keep what the journal holds
            outcome = SuiteOutcome(errors=[f"run aborted: {exc}"], partial=True)
        return outcome


def drop_unmeasured(results: list[Result]) -> tuple[list[Result], list[str]]:
    """A mean over zero scored samples is not a measurement: drop it, say why."""
    kept, notes = [], []
    for result in results:
        if result.tags.get("n_samples") == "0":
            notes.append(f"{result.name}/{result.metric}: no sample could be scored; result omitted")
        else:
            kept.append(result)
    return kept, notes


def load_resume(store: Store, run_key: str) -> RunRequest:
    """The RunRequest an interrupted run was started with."""
    _, config = SampleJournal.open(Path(store.root), run_key)
    return RunRequest.from_json(config["request"])


def summary_rows(results: list[Result]) -> list[tuple[str, str, str, str]]:
    return [(r.name, r.metric, f"{r.value:.4g}", r.unit) for r in results]


def run_sync(runner: Runner, request: RunRequest, resume_key: str | None = None) -> RunReport:
    """Run on uvloop where available (measured faster for streaming), else asyncio."""
    return run_coroutine(runner.run(request, resume_key))
