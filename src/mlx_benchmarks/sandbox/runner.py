"""The trusted first stage inside the sandbox: isolate, fork the program's process, watch it, report.

Never imported by the harness: ``launch.RUNNER_SOURCE`` is ``harness.py`` followed by this file, handed
to a fresh interpreter with ``-c``, so both use the standard library only (and no ``__future__`` import).

The runner splits in two. This parent half holds the report pipe (``report_fd``), makes itself
unreachable (not dumpable, so no ptrace attach and no ``/proc/<pid>/fd``; as root it also keeps a
uid the program does not have), ignores catchable signals, and forks a child that closes the report
pipe before anything else and then runs the program (``harness.run_child``). The child tells the
parent how the program ended over a pipe of its own, each line prefixed with a nonce drawn just
before the fork; the parent alone decides the verdict, from those lines and the child's exit status,
and writes one JSON line to the report pipe. stdout and stderr stay the program's own.
"""

import contextlib
import ctypes
import json
import os
import select
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # defined by harness.py, which precedes this file in the runner's source
    from mlx_benchmarks.sandbox.harness import CATCHABLE, preload, run_child

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = (
    1, 2, 4, 32, 4096, 8192, 16384, 1 << 18)
PR_SET_DUMPABLE, PT_DENY_ATTACH = 4, 31
PARTIAL_LINE_LIMIT = 8192  # a longer line from the child is the program's noise, never a verdict
SETUP_BUDGET_S = 60.0  # a check's child says "ready" when its own clock starts; until then, this


class IsolationFailed(Exception):
    """rlimit-root could not build its namespaces: the program must not run."""


def _libc_call(name: str, *args: Any) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    encoded = [a.encode() if isinstance(a, str) else a for a in args]
    if getattr(libc, name)(*encoded) != 0:
        err = ctypes.get_errno()
        raise IsolationFailed(f"{name}{tuple(args)!r}: {os.strerror(err)}")


def _tmpfs(path: str, scratch: bool) -> None:
    # scratch folders (/tmp and the like) stay writable for the program; hidden homes are read-only to it
    mode = "1777" if scratch else "0755"
    _libc_call("mount", "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size=64m")


def _isolate(spec: dict[str, Any]) -> None:
    """As root (rlimit-root): fresh network and mount namespaces; the writable and home directories
    become empty tmpfs mounts that vanish with the namespace; the program's own folder stays visible."""
    _libc_call("unshare", CLONE_NEWNET | CLONE_NEWNS)
    _libc_call("mount", None, "/", None, MS_REC | MS_PRIVATE, None)
    hide: list[str] = list(spec["hide"])
    scratch = set(spec.get("scratch", ()))
    work: str | None = spec.get("work")
    covering = [h for h in hide if work and (work == h or work.startswith(h + "/"))]
    stage = None
    if work and covering:
        # park the program's folder on a mount of its own, then move it into the empty tmpfs
        # a hidden home if possible: a scratch folder used as the stage would lose its write access
        candidates = sorted((h for h in hide if h not in covering), key=lambda h: h in scratch)
        spare = candidates[0] if candidates else None
        if spare is None:
            raise IsolationFailed(f"no spare directory to stage {work}")
        _tmpfs(spare, False)
        stage = os.path.join(spare, ".mlxb-stage")
        os.mkdir(stage)
        _libc_call("mount", work, stage, None, MS_BIND | MS_REC, None)
    for path in hide:
        if stage is None or not stage.startswith(path + "/"):
            _tmpfs(path, path in scratch)
    if stage is not None and work is not None:
        os.makedirs(work, exist_ok=True)
        _libc_call("mount", stage, work, None, MS_MOVE, None)
        os.chdir(work)
    # belt and braces: the rest of "/" read-only (a bind remount; some container roots refuse it)
    with contextlib.suppress(IsolationFailed):
        _libc_call("mount", None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)



def _protect() -> None:
    """Make this process unreachable to the program: no ptrace attach, no ``/proc/<pid>/fd`` or ``mem``."""
    libc = ctypes.CDLL(None, use_errno=True)
    if sys.platform.startswith("linux"):
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    elif sys.platform == "darwin":
        libc.ptrace(PT_DENY_ATTACH, 0, 0, 0)


class ChildLines:
    """The child's authenticated lines: only those that start with this run's nonce count."""

    def __init__(self, nonce: bytes) -> None:
        self.prefix = nonce + b" "
        self.partial = b""
        self.skipping = False
        self.final: list[str] | None = None
        self.ready: float | None = None

    def feed(self, data: bytes) -> None:
        *complete, rest = (self.partial + data).split(b"\n")
        for line in complete:
            if self.skipping:
                self.skipping = False
                continue
            self._line(line)
        self.partial = rest
        if len(rest) > PARTIAL_LINE_LIMIT:
            self.partial, self.skipping = b"", True

    def _line(self, line: bytes) -> None:
        if not line.startswith(self.prefix):
            return
        fields = line[len(self.prefix):].decode("utf-8", "replace").split("\t")
        if fields[0] == "ready":
            if self.ready is None:
                with contextlib.suppress(ValueError, IndexError):
                    self.ready = float(fields[1])
        elif self.final is None:
            self.final = fields


def _read_some(fd: int, lines: ChildLines) -> bool:
    """Read what the child wrote; False at end of file."""
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return True
    lines.feed(data)
    return bool(data)


def _supervise(cfg: dict[str, Any], source: str, group: dict[str, Any] | None, report_fd: int | None) -> dict[str, Any]:
    """Fork the program's process, collect its lines until it ends, and judge it."""
    nonce = os.urandom(16).hex().encode()
    read_end, write_end = os.pipe()
    mode = cfg.get("mode") or "script"
    started = time.monotonic()
    deadline: float | None = None
    if mode != "script":  # set-up (and evalplus's reference outputs) until "ready", then the check's clock
        deadline = started + max(SETUP_BUDGET_S, float(cfg.get("reference_budget_s") or 0))
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            if report_fd is not None:
                os.close(report_fd)
            run_child(cfg, source, group, write_end, nonce)
        finally:
            os._exit(70)
    os.close(write_end)
    os.set_blocking(read_end, False)
    lines, status, timed_out, open_pipe, ready_seen = ChildLines(nonce), None, False, True, False
    while status is None:
        wait = 0.02 if deadline is None else max(0.0, min(0.02, deadline - time.monotonic()))
        if open_pipe and select.select([read_end], [], [], wait)[0]:
            open_pipe = _read_some(read_end, lines)
        elif not open_pipe:
            time.sleep(wait)
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
            break
        if mode != "script" and lines.ready is not None and not ready_seen:
            # humaneval: join(timeout + 1); evalplus: min(60, sum of the limits) + 3
            ready_seen, deadline = True, time.monotonic() + lines.ready
        if deadline is not None and time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            status, timed_out = os.waitpid(pid, 0)[1], True
    for _ in range(16):  # what the child wrote last; its leftovers may keep the pipe open
        if not open_pipe or not _read_some(read_end, lines):
            break
    os.close(read_end)
    return judge(status, timed_out, lines.final, mode)


def judge(status: int, timed_out: bool, final: list[str] | None, mode: str) -> dict[str, Any]:
    """The verdict on one child: its authenticated last line, checked against how it really ended."""
    signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    base: dict[str, Any] = {"mode": mode, "code": code, "signal": signum}
    if timed_out:
        return {**base, "outcome": "timeout", "limit": "wall"}
    if final is not None and not (final[0] == "completed" and code != 0):
        fields = [*final[1:], "", ""]
        verdict = {**base, "outcome": final[0], "error": fields[0], "message": fields[1]}
        if final[0] == "exit":
            verdict["code"] = int(fields[1]) if fields[1].lstrip("-").isdigit() else 1
        return verdict
    if signum is not None:
        return {**base, "outcome": "signal"}
    return {**base, "outcome": "no_verdict"}


def main() -> int:
    cfg: dict[str, Any] = json.loads(sys.argv[1])
    report_fd: int | None = cfg.get("report_fd")  # none when the harness only probes the isolation
    if report_fd is not None:
        os.set_inheritable(report_fd, False)

    def report(verdict: dict[str, Any]) -> None:
        if report_fd is None:
            return
        # a failed report is not fatal: the harness then says the runner gave no verdict
        with contextlib.suppress(BaseException):
            os.write(report_fd, (json.dumps(verdict) + "\n").encode())

    if cfg.get("isolate"):
        try:
            _isolate(cfg["isolate"])
        except (IsolationFailed, OSError) as exc:
            report({"outcome": "isolation_failed", "message": str(exc)[:300]})
            return 3
        if cfg.get("probe_isolation"):
            return 0
    _protect()
    with open(cfg["program"], encoding="utf-8", errors="replace") as handle:
        source = handle.read()
    groups: list[dict[str, Any] | None] = [None]
    if cfg.get("job"):
        with open(cfg["job"], encoding="utf-8") as handle:
            job = json.load(handle)
        groups = [{**group, "helpers": job["helpers"]} for group in job["groups"]]
    for signum in CATCHABLE:  # the program may signal this process (same uid without root): no effect
        signal.signal(signum, signal.SIG_IGN)
    if (cfg.get("mode") or "script") != "script":
        preload()
    verdicts: list[dict[str, Any]] = []
    for group in groups:
        verdicts.append(_supervise(cfg, source, group, report_fd))
        if verdicts[-1]["outcome"] != "completed":
            break
    verdict = dict(verdicts[-1])
    if cfg.get("job"):
        verdict["groups"] = {str(g["label"]): v["outcome"] for g, v in zip(groups, verdicts, strict=False) if g}
    report(verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
