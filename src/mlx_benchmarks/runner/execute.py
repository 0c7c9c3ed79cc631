"""Run one suite against one target and store the envelope: the spine of ``mlx-bench run``.

What a run ends as (README's exit-code table, docs/reliability.md):
- results: stored, exit 0; failed samples are counted in ``errors[]`` ("partial run: ... tried, ... failed");
- no measurement, or an early stop after consecutive failures: RunIncomplete (exit 6), nothing stored, the
  journal kept for ``mlx-bench run --resume KEY`` (with ``--skip-unavailable``: a skipped envelope, exit 0);
- a model the server does not know: UsageError (exit 2) with the server's message, nothing stored.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from mlx_benchmarks.aio import run_coroutine
from mlx_benchmarks.envelope import Envelope, Result, utc_now_iso
from mlx_benchmarks.errors import RunIncomplete, StoreError, TargetError, TargetUnavailable, UsageError
from mlx_benchmarks.measure.memory import MemorySampler
from mlx_benchmarks.runner.journal import SampleJournal
from mlx_benchmarks.runner.run_config import with_run_config_tags
from mlx_benchmarks.store import Store, StoredRun
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.failure_policy import RequestCounts
from mlx_benchmarks.suites.registry import get_suite
from mlx_benchmarks.system import detect_git_sha, detect_system, detect_trigger
from mlx_benchmarks.targets.base import Target, TargetInfo
from mlx_benchmarks.targets.credentials import has_credentials, redact_text, redact_value
from mlx_benchmarks.targets.registry import TargetSpec, make_target

# how servers say they do not serve the requested model (vLLM, llama.cpp, Ollama, LM Studio, OpenAI)
MODEL_NOT_FOUND = re.compile(r"HTTP 404|model[^.;]{0,80}(not found|does not exist|not loaded|unknown)|"
                             r"(unknown|no such|invalid) model", re.IGNORECASE)


# a run that journaled no sample (a speed suite journals none) cannot be resumed: say so, never hint --resume
NOT_RESUMABLE = "nothing was journaled, so there is nothing to resume: run it again once the target is back"


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
        """The request as written to the journal: every credential redacted (the run itself keeps them)."""
        data = redact_value(asdict(self))
        assert isinstance(data, dict)
        return data

    @property
    def has_credentials(self) -> bool:
        return bool(self.spec.target) and has_credentials(str(self.spec.target))

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
        envelope = self._base_envelope(request, timestamp, redact_text(request.spec.model or request.spec.label))
        envelope.skipped = True
        envelope.errors.append(redact_text(reason))
        document = envelope.validated()
        return RunReport(self.store.put(document), document, "")

    async def run(self, request: RunRequest, resume_key: str | None = None) -> RunReport:
        suite = get_suite(request.suite)
        suite.validate_options(request.options)
        # detection first: a missing git sha must fail before any work
        git_sha = request.git_sha or detect_git_sha()
        request = RunRequest(**{**request.__dict__, "git_sha": git_sha})
        # built before the journal: a model that cannot be found leaves nothing behind
        target = make_target(request.spec)
        journal, run_key, timestamp = self._journal(request, resume_key)
        try:
            if resume_key and (stored := self.store.find_run_key(run_key)) is not None:
                # the last process stored the shard and died before removing the journal
                journal.discard()
                self.console.print(f"run {run_key} was already stored as {stored}; its journal is removed",
                                   markup=False, soft_wrap=True)
                return RunReport(StoredRun(stored, self.store.runs_dir / stored, False),
                                 self.store.envelope(stored), run_key)
            # no resume hint here: only a run that journaled a sample can be resumed (see _measure)
            return await self._measure(suite, target, request, journal, run_key, timestamp)
        finally:
            journal.release()

    async def _measure(self, suite: Any, target: Target, request: RunRequest, journal: SampleJournal,
                       run_key: str, timestamp: str) -> RunReport:
        resume = f"mlx-bench run --resume {run_key}"
        sampler = MemorySampler(pid=request.spec.server_pid).start()
        before = sampler.snapshot("before")
        try:
            await target.start()
        except TargetUnavailable as exc:
            sampler.stop()
            journal.discard()
            if request.skip_unavailable:
                return self.skipped(request, f"target unavailable: {exc}", timestamp)
            raise
        except BaseException:
            sampler.stop()
            journal.discard()
            raise
        sampler.watch(target.info.pid)
        loaded = sampler.snapshot("loaded")
        try:
            outcome = await self._run_suite(suite, target, request, sampler, journal, run_key)
        except RunIncomplete as exc:
            sampler.stop()
            unknown = None if journal.done() else model_not_found([str(exc)], target.info, request.spec.model)
            if unknown:  # stopped early because every request was refused for its model
                journal.discard()
                raise UsageError(unknown) from None
            if not journal.records():  # nothing journaled (a speed suite, say): nothing to resume
                journal.discard()
                raise RunIncomplete(f"{redact_text(str(exc))}; {NOT_RESUMABLE}") from None
            raise RunIncomplete(f"{redact_text(str(exc))}; the journal is kept: `{resume}` will finish the run "
                                "once the target is back") from None
        except TargetError as exc:
            sampler.stop()
            if not journal.records():
                journal.discard()
                raise
            # the target died under the suite: keep what the journal holds
            done, failed = journal.counts()
            raise RunIncomplete(f"run aborted: {redact_text(str(exc))} ({done} samples journaled, {failed} failed); "
                                f"the journal is kept: `{resume}` will finish the run once the target is back") from None
        except StoreError:
            sampler.stop()
            raise  # the journal keeps what it could write
        except BaseException as exc:
            sampler.stop()
            if not journal.records():  # nothing to resume: leave no stale in-progress entry
                journal.discard()
            elif isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):  # Ctrl-C (asyncio cancels the run)
                done, failed = journal.counts()
                self.console.print(f"interrupted after {done} journaled samples ({failed} failed): `{resume}` "
                                   "finishes the run", markup=False, soft_wrap=True, highlight=False)
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
        envelope.results, unmeasured = drop_unmeasured(with_run_config_tags(outcome.results, target.info))
        envelope.errors = [redact_text(e) for e in [*outcome.errors, *unmeasured, *partial_note(outcome.samples)]]
        snapshots = outcome.memory_snapshots or [before, loaded]
        if peak is not None and not any(s.phase == "peak" for s in snapshots):
            snapshots.append(sampler.snapshot("peak", peak))
        envelope.memory_snapshots = [*snapshots, after]
        if not envelope.results:
            unknown = model_not_found(envelope.errors, target.info, request.spec.model)
            if unknown:
                journal.discard()
                raise UsageError(unknown)
            why = next(iter(envelope.errors), "no result")
            if not request.skip_unavailable and not journal.records():
                journal.discard()
                raise RunIncomplete(f"no measurement: every request of the run failed ({why[:300]}); {NOT_RESUMABLE}")
            if not request.skip_unavailable:
                raise RunIncomplete(f"no measurement: every request of the run failed ({why[:300]}); the journal "
                                    f"is kept: `{resume}` will finish the run once the target is back")
            # asked to: keep the record (and why) rather than lose it
            envelope.skipped = True
            envelope.errors.append("no results: every request of the run failed")
        document = envelope.validated()
        stored = self.store.put(document, outcome.samples or None, run_key=run_key)
        journal.discard()
        return RunReport(stored, document, run_key)

    def _journal(self, request: RunRequest, resume_key: str | None) -> tuple[SampleJournal, str, str]:
        root = Path(self.store.root)
        if resume_key:
            journal, config = SampleJournal.open(root, resume_key)
            journal.acquire()
            return journal, resume_key, str(config["timestamp"])
        run_key = new_run_key(request.suite)
        timestamp = utc_now_iso()
        journal = SampleJournal.create(root, run_key, {"request": request.to_json(), "timestamp": timestamp,
                                                       "credentials": request.has_credentials})
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
        outcome: SuiteOutcome = await suite.run(ctx)
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


def partial_note(samples: list[dict[str, Any]]) -> list[str]:
    """A stored run with failed samples says so, with counts (a resumed run redoes them first)."""
    counts = RequestCounts.of_samples(samples)  # measured samples only: a load level's warm-up is apart
    if not counts.failed:
        return []
    return [f"partial run: {counts.measured} samples tried, {counts.failed} failed, 0 never tried"]


def model_not_found(errors: list[str], info: TargetInfo, model: str | None) -> str | None:
    """The one-line usage error for a run whose every request was refused for its model, else None."""
    said = next((e for e in errors if MODEL_NOT_FOUND.search(e)), None)
    if said is None:
        return None
    served = info.details.get("models")
    listing = f"; it serves: {served}" if served else ""
    return f"the server does not serve model {model or info.model!r}: {said[:300]}{listing}"


def load_resume(store: Store, run_key: str, target: str | None = None) -> RunRequest:
    """The RunRequest an interrupted run was started with.

    Credentials are never written to the journal: a run whose target URL carried them needs the URL again
    (``--resume KEY --target URL``), and that URL must be the one the run started with.
    """
    _, config = SampleJournal.open(Path(store.root), run_key)
    request = RunRequest.from_json(config["request"])
    if target is not None:
        if redact_text(target) != request.spec.target:
            raise UsageError(f"--target {redact_text(target)} is not the target run {run_key} started with "
                             f"({request.spec.target})")
        return RunRequest(**{**request.__dict__, "spec": replace(request.spec, target=target)})
    if config.get("credentials"):
        raise UsageError(f"run {run_key} went to {request.spec.target}, whose credentials are never written to disk: "
                         f"give the URL again, `mlx-bench run --resume {run_key} --target URL`")
    return request


def summary_rows(results: list[Result]) -> list[tuple[str, str, str, str]]:
    return [(r.name, r.metric, f"{r.value:.4g}", r.unit) for r in results]


def run_sync(runner: Runner, request: RunRequest, resume_key: str | None = None) -> RunReport:
    """Run on uvloop where available (measured faster for streaming), else asyncio."""
    return run_coroutine(runner.run(request, resume_key))
