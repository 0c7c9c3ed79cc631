"""Typed exceptions. The CLI turns each into one line and its exit code.

A per-sample or per-request failure is data (the envelope's ``errors[]``), never one of these.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_PUBLISH = 4
EXIT_REGRESSION = 5
EXIT_NO_MEASUREMENT = 6  # the run stopped before it measured everything; its journal is kept for --resume
EXIT_INTERRUPTED = 130


class BenchError(Exception):
    """Base of every error the harness raises on purpose."""

    exit_code = EXIT_FAILURE


class UsageError(BenchError):
    """Bad flags, bad configuration, unreadable input files."""

    exit_code = EXIT_USAGE


class PrerequisiteError(BenchError):
    """An optional extra (mlx, llama.cpp, a framework) is not installed."""

    exit_code = EXIT_USAGE


class TargetError(BenchError):
    """The model target failed as a whole (not one request)."""

    exit_code = EXIT_USAGE


class TargetUnavailable(TargetError):
    """The target cannot be reached or started."""


class TargetTimeout(TargetError):
    """The target did not answer in time."""


class TargetProtocolError(TargetError):
    """The target answered something that is not the protocol we speak."""


class TargetRetryable(TargetError):
    """One request failed in a way worth trying again: 429 / 503 (``retry_after`` seconds when the server
    said), a connection reset mid-answer, or a stream that went idle. Quality suites retry it; speed suites
    record it as an error of the cell."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DatasetError(BenchError):
    """A dataset is missing, corrupt or of the wrong shape."""

    exit_code = EXIT_USAGE


class EnvelopeInvalid(BenchError):
    """An envelope does not validate against the v1 schema."""

    exit_code = EXIT_INVALID

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class RunIncomplete(BenchError):
    """A run produced no measurement, or stopped early: nothing is stored, its journal is kept for --resume."""

    exit_code = EXIT_NO_MEASUREMENT


class StoreError(BenchError):
    """The results store cannot be read or written."""

    exit_code = EXIT_USAGE


class PublishError(BenchError):
    """Publishing to, or reading from, a remote lake failed."""

    exit_code = EXIT_PUBLISH


class RegressionFound(BenchError):
    """compare --fail-on-regression found a significant regression."""

    exit_code = EXIT_REGRESSION
