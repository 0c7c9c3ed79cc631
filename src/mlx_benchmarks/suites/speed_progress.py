"""Live progress of a speed run: the stage (cell or load level), requests done / planned, running median TTFT
and decode tok/s, and the time left.

Timing must not suffer for it: ``record`` only appends two numbers (on the event loop, between requests);
the figures are computed when rich redraws, on its own thread, twice a second. When the console is not a
terminal nothing is drawn; one line sums the run up at the end.
"""

from __future__ import annotations

import time
from collections import deque
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from mlx_benchmarks.measure.load import output_tokens
from mlx_benchmarks.measure.stats import median
from mlx_benchmarks.measure.timing import Completion, decode_tps
from mlx_benchmarks.suites.failure_policy import FailureWatch

RECENT = 256  # the running figures are over this many latest requests
REFRESH_PER_SECOND = 2


class RunningFigures:
    """Recent TTFTs and decode rates; cheap to add to, summarised only when asked."""

    def __init__(self) -> None:
        self.ttft_ms: deque[float] = deque(maxlen=RECENT)
        self.decode_tps: deque[float] = deque(maxlen=RECENT)
        self.done = self.failed = 0

    def add(self, completion: Completion) -> None:
        self.done += 1
        if not completion.ok or completion.ttft_ms is None:
            self.failed += 1
            return
        self.ttft_ms.append(completion.ttft_ms)
        n, _ = output_tokens(completion)
        last = completion.token_times_ns[-1] if completion.token_times_ns else None
        rate = decode_tps(n, completion.first_token_ns, last)
        if rate is not None:
            self.decode_tps.append(rate)

    def text(self) -> str:
        ttft, tps = median(list(self.ttft_ms)), median(list(self.decode_tps))
        parts = [f"TTFT p50 {ttft:.0f} ms" if ttft is not None else "TTFT -",
                 f"{tps:.1f} tok/s" if tps is not None else "- tok/s"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        return " · ".join(parts)


class _FiguresColumn(ProgressColumn):
    def __init__(self, figures: RunningFigures) -> None:
        super().__init__()
        self.figures = figures

    def render(self, task: Task) -> Text:
        return Text(self.figures.text())


class SpeedProgress:
    """``with SpeedProgress(console, "throughput", planned) as progress: progress.stage(...); progress.record(c)``."""

    def __init__(self, console: Console, suite: str, planned: int, watch: FailureWatch | None = None) -> None:
        self.console, self.suite = console, suite
        self.watch = watch  # stops the run after too many failed requests in a row (suites.failure_policy)
        self.figures = RunningFigures()
        self.planned = planned
        self.live = console.is_terminal and not console.quiet
        self.progress: Progress | None = None
        self.task_id: object = None
        self.started = time.perf_counter()

    def __enter__(self) -> SpeedProgress:
        if self.live:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("·"), _FiguresColumn(self.figures), TextColumn("· left"),
                                     TimeRemainingColumn(), console=self.console, transient=False,
                                     refresh_per_second=REFRESH_PER_SECOND)
            self.progress.start()
            self.task_id = self.progress.add_task(self.suite, total=self.planned)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.progress is not None:
            self.progress.stop()
        elif not self.console.quiet:
            elapsed = time.perf_counter() - self.started
            self.console.print(f"{self.suite}: {self.figures.done} requests in {elapsed:.1f} s · "
                               f"{self.figures.text()}", markup=False, highlight=False, soft_wrap=True)

    def stage(self, name: str, more_planned: int = 0) -> None:
        """A new cell or level starts; ``more_planned`` adds requests not known when the run started."""
        self.planned += more_planned
        if self.progress is not None:
            self.progress.update(self.task_id, description=f"{self.suite} {name}",  # type: ignore[arg-type]
                                 total=self.planned)

    def record(self, completion: Completion) -> None:
        """One request finished (called on the event loop: no rendering here)."""
        self.figures.add(completion)
        if self.progress is not None:
            self.progress.advance(self.task_id, 1)  # type: ignore[arg-type]
        if self.watch is not None:
            self.watch.completion(completion)  # RunIncomplete (exit 6) once the target looks dead
