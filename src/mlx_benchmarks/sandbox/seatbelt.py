"""The macOS backend: a Seatbelt (SBPL) profile generated per program, applied by ``/usr/bin/sandbox-exec``.

The profile denies by default and then allows only what one Python program needs: reading the
interpreter's own installation and the system libraries, reading and writing its own folder, the
sysctls ``os.uname()`` and ``platform`` read, and ``AF_UNIX`` socket creation for ``socketpair()``
(asyncio's self-pipe) without any bind or connect. It denies, explicitly:

- every ``network*`` operation (so no unix socket path such as ``/var/run/docker.sock`` is reachable);
- ``process-exec`` of anything but the interpreter (whose start is itself an exec), unless the task
  declares it needs processes (``processes=True``);
- ``process-fork``, unless the task declares processes or the runner itself must fork (its trusted
  parent forks the program's process: ``fork=None`` looks at the runner's source). Seatbelt cannot
  grant one fork and deny the next, so with a forking runner the program may fork too: then only
  the runner's Python-level guard and the harness's family watch stand in the way;
- ``file-link``: no hard link at all, so a file of the interpreter's installation cannot be linked
  into the writable folder and rewritten through it;
- creating a symbolic link (a ``file-write-create`` of vnode type ``SYMLINK``): Seatbelt checks
  resolved paths, so a link would grant nothing, but none is needed either.

``sandbox-exec`` is always ``/usr/bin/sandbox-exec`` (never found on PATH, where anything could sit).
The interpreter's installation is asked of that interpreter itself (``MLX_BENCH_SANDBOX_PYTHON`` may
name another one), and an installation so broad that it would open the user's files is refused when
the backend is resolved, before any generation (``check_interpreter``). ``probe_profile`` runs this
very profile on that interpreter once, so a profile too tight for CPython fails the run at the start
in one line instead of scoring every sample wrong.

Memory is not limited by the kernel here (macOS ignores ``RLIMIT_AS``); ``sandbox.watch`` polls the
physical footprint. Checked on Linux only, by parsing the profile and under emulation; see
docs/sandbox.md for the first checks on a real Mac.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable

from mlx_benchmarks.errors import PrerequisiteError

__all__ = ["SANDBOX_EXEC", "check_interpreter", "interpreter_prefixes", "probe_profile", "read_roots",
           "runner_forks", "sandbox_exec_path", "seatbelt_command", "seatbelt_profile"]

SANDBOX_EXEC = "/usr/bin/sandbox-exec"
# system locations the dynamic loader and the interpreter's C libraries read (none hold user data)
SYSTEM_READ = (
    "/usr/lib",
    "/usr/share",
    "/System/Library",
    "/System/Volumes/Preboot/Cryptexes/OS",  # the dyld shared cache since macOS 13
    "/Library/Apple/System/Library",
    "/Library/Apple/usr/lib",
    "/private/var/db/dyld",
    "/private/var/db/timezone",
)
# installed software only: Homebrew (and pyenv builds linked against it) load openssl, libffi and
# mpdecimal from here; allowing them keeps hashlib, ctypes and decimal working
HOMEBREW_READ = ("/opt/homebrew/Cellar", "/opt/homebrew/opt", "/usr/local/Cellar", "/usr/local/opt")
# symlinked roots (/tmp -> /private/tmp, /var -> /private/var, /etc -> /private/etc) must be stat-able
SYMLINKED_ROOTS = ("/tmp", "/var", "/etc")
SYSTEM_FILES = ("/private/etc/localtime", "/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
# what os.uname(), platform, socket.gethostname(), os.cpu_count() and the allocator read; the names
# Codex CLI's and sandbox-runtime's base profiles allow too (no kern.proc.all: no process listing)
SYSCTL_NAMES = (
    "hw.activecpu", "hw.byteorder", "hw.cachelinesize_compat", "hw.cpufamily", "hw.cpufrequency",
    "hw.cpufrequency_compat", "hw.cputype", "hw.l1dcachesize_compat", "hw.l1icachesize_compat",
    "hw.l2cachesize_compat", "hw.l3cachesize_compat", "hw.logicalcpu", "hw.logicalcpu_max", "hw.machine",
    "hw.memsize", "hw.model", "hw.ncpu", "hw.nperflevels", "hw.packages", "hw.pagesize", "hw.pagesize_compat",
    "hw.physicalcpu", "hw.physicalcpu_max", "hw.tbfrequency_compat", "hw.vectorunit",
    "kern.argmax", "kern.hostname", "kern.maxfilesperproc", "kern.maxproc", "kern.osproductversion",
    "kern.osrelease", "kern.ostype", "kern.osvariant_status", "kern.osversion", "kern.secure_kernel",
    "kern.usrstack64", "kern.version", "machdep.cpu.brand_string", "sysctl.proc_cputype", "vm.loadavg",
)
SYSCTL_PREFIXES = ("hw.optional.", "hw.perflevel", "machdep.cpu.", "kern.proc.pid.", "kern.proc.pgrp.")
# with processes=True: what subprocess and multiprocessing start besides the interpreter
PROCESS_EXEC_DIRS = ("/bin", "/usr/bin")
# where nothing may be opened wholesale: allowing one of these would expose every user's files
# (Homebrew's own roots hold its services' data, e.g. databases under var/)
TOO_BROAD = ("/", "/Users", "/private", "/private/var", "/var", "/private/tmp", "/tmp", "/Volumes", "/opt",
             "/usr/local", "/opt/homebrew", "/Library")
PROBE_MARK = "mlxb-seatbelt-probe-ok"
# the probe touches what a test program commonly needs: if any of it is denied, no sample can pass
PROBE_SOURCE = (
    "import os, sys, platform, socket, tempfile, json, hashlib, decimal, datetime, random, re\n"
    "os.uname(); platform.system(); platform.machine(); socket.gethostname(); os.cpu_count()\n"
    "a, b = socket.socketpair(); a.send(b'x'); assert b.recv(1) == b'x'\n"
    "fd, path = tempfile.mkstemp(dir='.'); os.write(fd, b'x'); os.close(fd); os.unlink(path)\n"
    "datetime.datetime.now().astimezone(); hashlib.sha256(b'x').hexdigest(); random.random()\n"
    f"print({PROBE_MARK!r})\n"
)


def sandbox_exec_path() -> str:
    """The one ``sandbox-exec`` this backend runs (read at call time, so tests can point it at a double)."""
    return SANDBOX_EXEC


def _quote(path: str) -> str:
    """An SBPL string literal (JSON string escaping is a subset SBPL reads the same way)."""
    return json.dumps(path)


def _ancestors(path: str) -> list[str]:
    parts = path.rstrip("/").split("/")
    return ["/".join(parts[:i]) or "/" for i in range(1, len(parts))]


def _own_interpreter() -> str:
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


@functools.cache
def _asked_prefixes(exe: str) -> tuple[str, str]:
    """``(sys.base_prefix, sys.base_exec_prefix)`` of another interpreter, asked once."""
    ask = "import json, sys; print(json.dumps([sys.base_prefix, sys.base_exec_prefix]))"
    try:
        done = subprocess.run([exe, "-I", "-S", "-c", ask], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=30, check=False)
        prefix, exec_prefix = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        raise PrerequisiteError(f"the seatbelt sandbox cannot ask {exe} where it is installed "
                                f"(MLX_BENCH_SANDBOX_PYTHON?): {str(exc) or type(exc).__name__}") from None
    return str(prefix), str(exec_prefix)


def interpreter_prefixes(interpreter: str) -> tuple[str, str]:
    """Where ``interpreter`` is installed: this process's own, or asked of that interpreter once."""
    exe = os.path.realpath(interpreter)
    if exe == _own_interpreter():
        return sys.base_prefix, sys.base_exec_prefix
    return _asked_prefixes(exe)


def read_roots(*, interpreter: str, home: str | None) -> list[str]:
    """The interpreter's own installation: what the profile lets the program read besides the system.

    Raises ``PrerequisiteError`` when that installation is so broad (``/``, ``/Users``, ``$HOME`` itself)
    that allowing it would expose the user's files.
    """
    exe = os.path.realpath(interpreter)
    roots = {os.path.dirname(exe)} | {os.path.realpath(p) for p in interpreter_prefixes(exe)}
    home_real = os.path.realpath(home) if home else None
    for root in roots:
        if root in TOO_BROAD or (home_real and (root == home_real or home_real.startswith(root + "/"))):
            raise PrerequisiteError(
                f"the seatbelt sandbox would have to open {root} to run {exe}; use a Python installed in "
                "its own folder (python.org, Homebrew, uv or pyenv), or set MLX_BENCH_SANDBOX_PYTHON"
            )
    # a root inside another root is already covered
    ordered = sorted(roots, key=len)
    return [r for r in ordered if not any(r != o and r.startswith(o + "/") for o in ordered)]


def check_interpreter(interpreter: str, *, home: str | None) -> None:
    """Refuse, before any generation, an interpreter whose installation the profile cannot open safely."""
    read_roots(interpreter=interpreter, home=home)


def _exec_targets(interpreter: str) -> list[str]:
    """The interpreter, and the app binary a python.org framework build re-executes itself as."""
    exe = os.path.realpath(interpreter)
    targets = [exe]
    prefix = os.path.realpath(interpreter_prefixes(exe)[0])
    app = os.path.join(prefix, "Resources/Python.app/Contents/MacOS/Python")
    if os.path.exists(app):
        targets.append(app)
    return targets


def _rule(action: str, operations: str, filters: Iterable[str]) -> list[str]:
    items = list(filters)
    if not items:
        return []
    return [f"({action} {operations}", *(f"  {item}" for item in items), ")"]


def runner_forks() -> bool:
    """Does the sandbox's first stage fork the program's process (so the profile must allow a fork)?"""
    from mlx_benchmarks.sandbox.launch import RUNNER_SOURCE  # launch imports nothing of this module

    return "os.fork()" in RUNNER_SOURCE


def _process_rules(interpreter: str, processes: bool, fork: bool) -> list[str]:
    """Fork and exec: the interpreter's own start only, unless the task declared it needs processes."""
    execs = [f"(literal {_quote(p)})" for p in _exec_targets(interpreter)]
    if processes:
        execs += [f"(subpath {_quote(d)})" for d in PROCESS_EXEC_DIRS]
    forks = "(allow process-fork)" if processes or fork else "(deny process-fork)"
    return [forks, *_rule("allow", "process-exec", execs)]


def seatbelt_profile(*, work: str, interpreter: str, home: str | None = None, processes: bool = False,
                     fork: bool = False) -> str:
    """The SBPL profile for one program that lives in ``work`` and runs under ``interpreter``.

    ``processes``: the task may fork and run system tools; ``fork``: the runner must fork (no tools).
    """
    work = os.path.realpath(work)
    if work in TOO_BROAD or not os.path.isabs(work):
        raise PrerequisiteError(f"the seatbelt sandbox needs a private folder for the program, not {work}")
    roots = read_roots(interpreter=interpreter, home=home)
    software = [p for p in HOMEBREW_READ if os.path.isdir(p)]
    reads = (*SYSTEM_READ, *software, *roots)
    execs = PROCESS_EXEC_DIRS if processes else ()
    traversal = sorted({a for path in (*reads, *execs, work) for a in _ancestors(path)} | set(SYMLINKED_ROOTS))
    lines = [
        "(version 1)",
        "; mlx-bench: one model-written Python program; everything not allowed below is denied",
        "(deny default)",
        "(deny network*)",  # no IP and no unix-socket bind or connect, whatever else is allowed
        *_process_rules(interpreter, processes, fork),
        "(allow signal (target same-sandbox))",
        "(allow process-info* (target same-sandbox))",
        "(allow ipc-posix-sem)",  # multiprocessing's locks
        # socket(AF_UNIX) and socketpair() for asyncio's self-pipe; bind and connect stay denied above
        "(allow system-socket (socket-domain AF_UNIX))",
        # user and group names (pwd, getpass): directory lookups, no file access
        '(allow mach-lookup (global-name "com.apple.system.opendirectoryd.libinfo"))',
        *_rule("allow", "sysctl-read", [*(f"(sysctl-name {_quote(n)})" for n in SYSCTL_NAMES),
                                        *(f"(sysctl-name-prefix {_quote(p)})" for p in SYSCTL_PREFIXES)]),
        *_rule("allow", "file-read* file-map-executable", (f"(subpath {_quote(p)})" for p in reads)),
        *_rule("allow", "file-read*", (f"(literal {_quote(p)})" for p in SYSTEM_FILES)),
        *_rule("allow", "file-read* file-map-executable", (f"(subpath {_quote(p)})" for p in execs)),
        # stat (not list, not read) the folders above what is allowed, so realpath() and getcwd() work
        *_rule("allow", "file-read-metadata", (f"(literal {_quote(p)})" for p in traversal)),
        *_rule("allow", "file-read* file-write*", [f"(subpath {_quote(work)})"]),
        '(allow file-write-data (require-all (literal "/dev/null") (vnode-type CHARACTER-DEVICE)))',
        '(allow file-ioctl (literal "/dev/null") (literal "/dev/urandom"))',
        # after the folder's allow, so these win: no hard link anywhere (a link of a file of the
        # interpreter's installation would make it writable), and no symbolic link either
        "(deny file-link)",
        f"(deny file-write-create (require-all (subpath {_quote(work)}) (vnode-type SYMLINK)))",
    ]
    return "\n".join(lines) + "\n"


def seatbelt_command(inner: list[str], *, work: str, interpreter: str, sandbox_exec: str | None = None,
                     processes: bool = False, fork: bool | None = None) -> list[str]:
    """``/usr/bin/sandbox-exec -p PROFILE -- inner...``: ``inner`` starts with the interpreter.

    ``fork=None``: allow a fork exactly when the runner needs one (``runner_forks``).
    """
    profile = seatbelt_profile(work=work, interpreter=interpreter, home=os.environ.get("HOME"),
                               processes=processes, fork=runner_forks() if fork is None else fork)
    return [sandbox_exec or sandbox_exec_path(), "-p", profile, "--", *inner]


@functools.cache
def probe_profile(sandbox_exec: str, interpreter: str) -> str | None:
    """Run this backend's real profile on ``interpreter`` once: None when CPython and the stdlib work
    under it, else one line saying what failed (the last line the interpreter or sandbox-exec wrote)."""
    with tempfile.TemporaryDirectory(prefix="mlxb-sbx-probe-") as work:
        env = {"PATH": "/usr/bin:/bin", "HOME": work, "TMPDIR": work, "LANG": "C.UTF-8"}
        command = seatbelt_command([interpreter, "-s", "-B", "-c", PROBE_SOURCE], work=work,
                                   interpreter=interpreter, sandbox_exec=sandbox_exec, fork=False)
        try:
            done = subprocess.run(command, cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, errors="replace", timeout=60, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"{sandbox_exec} could not run: {exc}"
    if done.returncode == 0 and done.stdout.strip().endswith(PROBE_MARK):
        return None
    said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    last = said[-1][:300] if said else f"exit status {done.returncode}, no message"
    return f"{interpreter} does not start under the profile: {last}"
