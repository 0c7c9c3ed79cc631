"""The macOS backend: a Seatbelt (SBPL) profile generated per program, applied by ``sandbox-exec``.

The profile denies by default and then allows only what one Python program needs: reading the
interpreter's own installation and the system libraries, reading and writing its own folder, and
forking. There is no ``network*`` allow rule at all (and an explicit deny); ``process-exec`` names
the interpreter alone; children inherit the profile, as everything started under ``sandbox-exec``
does. Seatbelt matches resolved paths (``/tmp`` is ``/private/tmp``), so every path is resolved first.

Memory is not limited here: macOS does not enforce ``RLIMIT_AS``, so the harness polls the program's
process tree instead (``sandbox.watch``). This module has only been checked on Linux, by parsing
the profile it writes; see docs/sandbox.md for what to try first on a real Mac.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable

from mlx_benchmarks.errors import PrerequisiteError

__all__ = ["SANDBOX_EXEC", "read_roots", "seatbelt_command", "seatbelt_profile"]

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
SYSCTL_PREFIXES = ("hw.", "machdep.cpu.", "kern.ostype", "kern.osrelease", "kern.osversion",
                   "kern.osproductversion", "kern.version", "kern.argmax", "kern.maxfilesperproc",
                   "kern.proc.pid.", "kern.proc.pgrp.", "kern.usrstack64", "sysctl.proc_cputype", "vm.loadavg")
# where nothing may be opened wholesale: allowing one of these would expose every user's files
TOO_BROAD = ("/", "/Users", "/private", "/private/var", "/var", "/private/tmp", "/tmp", "/Volumes", "/opt")


def _quote(path: str) -> str:
    """An SBPL string literal (JSON string escaping is a subset SBPL reads the same way)."""
    return json.dumps(path)


def _ancestors(path: str) -> list[str]:
    parts = path.rstrip("/").split("/")
    return ["/".join(parts[:i]) or "/" for i in range(1, len(parts))]


def read_roots(*, interpreter: str, home: str | None) -> list[str]:
    """The interpreter's own installation: what the profile lets the program read besides the system.

    Raises ``PrerequisiteError`` when that installation is so broad (``/``, ``/Users``, ``$HOME`` itself)
    that allowing it would expose the user's files.
    """
    exe = os.path.realpath(interpreter)
    roots = {os.path.dirname(exe)}
    for prefix in (sys.base_prefix, sys.base_exec_prefix):
        roots.add(os.path.realpath(prefix))
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


def _exec_targets(interpreter: str) -> list[str]:
    """The interpreter, and the app binary a python.org framework build re-executes itself as."""
    exe = os.path.realpath(interpreter)
    targets = [exe]
    app = os.path.join(os.path.realpath(sys.base_prefix), "Resources/Python.app/Contents/MacOS/Python")
    if os.path.exists(app):
        targets.append(app)
    return targets


def _rule(action: str, operations: str, filters: Iterable[str]) -> list[str]:
    items = list(filters)
    if not items:
        return []
    return [f"({action} {operations}", *(f"  {item}" for item in items), ")"]


def seatbelt_profile(*, work: str, interpreter: str, home: str | None = None) -> str:
    """The SBPL profile for one program that lives in ``work`` and runs under ``interpreter``."""
    work = os.path.realpath(work)
    if work in TOO_BROAD or not os.path.isabs(work):
        raise PrerequisiteError(f"the seatbelt sandbox needs a private folder for the program, not {work}")
    roots = read_roots(interpreter=interpreter, home=home)
    software = [p for p in HOMEBREW_READ if os.path.isdir(p)]
    traversal = sorted({a for path in (*roots, work, *SYSTEM_READ, *software) for a in _ancestors(path)}
                       | set(SYMLINKED_ROOTS))
    lines = [
        "(version 1)",
        "; mlx-bench: one model-written Python program; everything not allowed below is denied",
        "(deny default)",
        "(deny network*)",
        "(allow process-fork)",
        *_rule("allow", "process-exec", (f"(literal {_quote(p)})" for p in _exec_targets(interpreter))),
        "(allow signal (target same-sandbox))",
        "(allow process-info* (target same-sandbox))",
        "(allow ipc-posix-sem)",  # multiprocessing's locks
        # user and group names (pwd, getpass): directory lookups, no file access
        '(allow mach-lookup (global-name "com.apple.system.opendirectoryd.libinfo"))',
        *_rule("allow", "sysctl-read", (f"(sysctl-name-prefix {_quote(p)})" for p in SYSCTL_PREFIXES)),
        *_rule("allow", "file-read* file-map-executable",
               (f"(subpath {_quote(p)})" for p in (*SYSTEM_READ, *software, *roots))),
        *_rule("allow", "file-read*", (f"(literal {_quote(p)})" for p in SYSTEM_FILES)),
        # stat (not list, not read) the folders above what is allowed, so realpath() and getcwd() work
        *_rule("allow", "file-read-metadata", (f"(literal {_quote(p)})" for p in traversal)),
        *_rule("allow", "file-read* file-write*", [f"(subpath {_quote(work)})"]),
        '(allow file-write-data (require-all (literal "/dev/null") (vnode-type CHARACTER-DEVICE)))',
        '(allow file-ioctl (literal "/dev/null") (literal "/dev/urandom"))',
    ]
    return "\n".join(lines) + "\n"


def seatbelt_command(inner: list[str], *, work: str, interpreter: str, sandbox_exec: str = SANDBOX_EXEC) -> list[str]:
    """``sandbox-exec -p PROFILE -- inner...``: ``inner`` starts with the interpreter."""
    profile = seatbelt_profile(work=work, interpreter=interpreter, home=os.environ.get("HOME"))
    return [sandbox_exec, "-p", profile, "--", *inner]
