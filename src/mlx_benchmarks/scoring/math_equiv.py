"""Is a predicted math answer equivalent to the gold one? Normalisation first, then symbolic, time-bounded.

Two checks, in order:

1. ``normalize_answer`` (Minerva / Hendrycks style): strip ``$``, ``\\left``/``\\right``, ``\\text{}`` units,
   degrees, ``\\dfrac``, spaces, a leading ``x =``; equal strings are equivalent. Cheap and exact.
2. math-verify (sympy underneath) in a pool of worker *processes*: ``\\frac{1}{2}`` vs ``0.5``, ``10\\sqrt2`` vs
   ``\\sqrt{200}``, intervals, tuples. A pathological expression can make sympy run for minutes, and
   math-verify's own ``signal.alarm`` timeout only works on the main thread (the engine scores in worker
   threads), so the parent waits at most ``timeout_s`` and kills and restarts the worker past that. One
   worker per core, so the engine's scoring threads compare at once instead of queueing for one process.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import re
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from mlx_benchmarks.errors import PrerequisiteError

# units and words MATH answers carry that never change the value
UNIT_WORDS = (
    "square units", "sq units", "units", "unit", "degrees", "degree", "cm", "centimeters", "meters", "meter",
    "inches", "inch", "feet", "foot", "miles", "mile", "hours", "hour", "minutes", "minute", "seconds",
    "second", "dollars", "dollar", "cents", "cent", "points", "ways", "days", "people", "students",
)
SIMPLE_SUBSTITUTIONS = (
    ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\left", ""), ("\\right", ""), ("\\!", ""),
    ("\\,", ""), ("\\;", ""), ("\\:", ""), ("\\ ", ""), ("^{\\circ}", ""), ("^\\circ", ""), ("\\circ", ""),
    ("\\%", ""), ("%", ""), ("\\$", ""), ("$", ""), ("\\displaystyle", ""), ("\\mbox", "\\text"),
    ("\\textbf", "\\text"), ("\\mathrm", "\\text"), ("\\textrm", "\\text"), ("\\infinity", "\\infty"),
    ("\\{", "{"), ("\\}", "}"),
)


def _unwrap_text(text: str) -> str:
    """``\\text{Evelyn}`` -> ``Evelyn``; a unit word in ``\\text{ cm}`` is dropped entirely."""

    def repl(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        return "" if inner.lower() in UNIT_WORDS else inner

    previous = None
    while previous != text:  # nested \text{\text{..}} unwrap one level per pass
        previous = text
        text = re.sub(r"\\text\s*\{([^{}]*)\}", repl, text)
    return text


def _fix_fracs(text: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{2}`` -> ``\\frac{1}{2}``, ``\\sqrt2`` -> ``\\sqrt{2}``."""
    text = re.sub(r"\\frac\s*([^{\s\\])\s*([^{\s\\])", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*([^{\s\\])\s*\{", r"\\frac{\1}{", text)
    text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*([^{\s\\])", r"\\frac{\1}{\2}", text)
    return re.sub(r"\\sqrt\s*([^{\s\\\[])", r"\\sqrt{\1}", text)


def normalize_answer(answer: str) -> str:
    """A canonical string for a MATH final answer (Minerva's normalisation plus Hendrycks' strip_string)."""
    text = answer.strip()
    inner = re.fullmatch(r"\\boxed\s*\{(.*)\}", text, re.DOTALL)
    if inner:
        text = inner.group(1)
    text = text.replace("\n", " ").strip().rstrip(".").strip()
    for old, new in SIMPLE_SUBSTITUTIONS:
        text = text.replace(old, new)
    text = _unwrap_text(text)
    text = re.sub(r"\\(?:overline|mathbf|boldsymbol)\s*\{([^{}]*)\}", r"\1", text)
    for word in UNIT_WORDS:  # a unit written without \text{}: "5 cm", "10 degrees"
        text = re.sub(rf"(?<=[\d}}])\s*{re.escape(word)}\b", "", text)
    # a leading single-variable assignment "x = 5" or "k=5" is just the value
    assignment = re.fullmatch(r"\s*[a-zA-Z](?:_\{?\w+\}?)?\s*=\s*(.+)", text)
    if assignment and "=" not in assignment.group(1):
        text = assignment.group(1)
    text = _fix_fracs(text)
    text = text.replace(" ", "")
    if re.fullmatch(r"-?[\d,]+(\.\d+)?", text) and re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")  # 1,000 is one number; 1,2 stays a pair
    text = re.sub(r"(?<![\d.])\.(\d)", r"0.\1", text)  # ".5" -> "0.5"
    if re.fullmatch(r"-?\d+\.\d+", text):  # "5.00" -> "5", "0.50" -> "0.5"
        text = text.rstrip("0").rstrip(".")
    return text


Verdict = Literal["normalized", "symbolic", "different", "timeout", "unparsed"]


@dataclass(frozen=True)
class Equivalence:
    """Whether two answers match and which check said so."""

    equal: bool
    how: Verdict


def _verify_in_worker(gold: str, predicted: str, budget_s: int) -> bool:
    from math_verify import parse, verify

    gold_parsed = parse(f"${gold}$", parsing_timeout=budget_s)
    pred_parsed = parse(f"${predicted}$", parsing_timeout=budget_s)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=budget_s))


def _lm_eval_math_verify(solution: str, reply: str) -> bool:
    """lm-eval minerva_math's ``math_verify``: the whole reference solution against the whole reply, defaults."""
    from math_verify import parse, verify

    return bool(verify(gold=parse(solution), target=parse(reply)))


@functools.lru_cache(maxsize=4096)
def _minerva_cached(x1: str, x2: str, budget: int) -> bool | str:
    # sympy's simplify takes up to seconds a pair, and a run asks the same pair often (each unanswered
    # reply is "[invalidanswer]" against its gold); the verdict of a pair never changes
    from mlx_benchmarks.scoring.minerva import LatexParserUnavailable, is_equiv_in_process

    try:
        return is_equiv_in_process(x1, x2, budget)
    except LatexParserUnavailable:
        return "unavailable"


def _answer(request: list[Any]) -> Any:
    """One worker request: ``[gold, predicted, budget]`` (ours) or ``[op, a, b, budget]``."""
    if len(request) == 3:
        gold, predicted, budget = request
        return _verify_in_worker(gold, predicted, int(budget))
    op, first, second, budget = request
    if op == "minerva":
        return _minerva_cached(first, second, int(budget))
    if op == "lm_eval_math_verify":
        return _lm_eval_math_verify(first, second)
    raise ValueError(f"unknown worker request {op!r}")


def serve(stall_s: float = 0.0) -> None:
    """Worker loop on stdin/stdout: one JSON request per line (see ``_answer``), one JSON answer.

    ``stall_s`` makes every comparison sleep first: a test seam for the parent's hard time limit.
    """
    import math_verify  # noqa: F401  # import before "ready" so the first comparison is not charged for it

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if stall_s:
            time.sleep(stall_s)
        try:
            verdict = _answer(json.loads(line))
        except Exception:  # sympy raises anything from anywhere: an unparsable pair is "different"
            verdict = False
        sys.stdout.write(json.dumps(verdict) + "\n")
        sys.stdout.flush()


def require_math_verify() -> None:
    """PrerequisiteError naming the extra when math-verify is missing."""
    try:
        import math_verify  # noqa: F401
    except ImportError:
        raise PrerequisiteError(
            "math-hard needs math-verify and sympy: pip install 'mlx-benchmarks[quality]'"
        ) from None


def _readline(process: subprocess.Popen[str], timeout_s: float) -> str | None:
    """One line from the worker, or None when none came within ``timeout_s`` (or it died)."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout_s)
    if not ready:
        return None
    line = process.stdout.readline()
    return line.strip() if line else None


class _Slot:
    """One math-verify worker process of the pool (started on first use, replaced after a time-out)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None


class SymbolicChecker:
    """math-verify in a pool of worker processes, with a hard per-comparison time limit. Thread-safe.

    ``workers`` processes (default one per core) answer at once, so the engine's scoring threads do not
    queue behind one another's comparisons; each call takes an idle worker, and a worker past its limit is
    killed and replaced. The workers are plain ``python -m`` subprocesses rather than multiprocessing
    children: spawn would re-import the caller's ``__main__``, and fork would copy the asyncio and MLX
    threads' locks.
    """

    def __init__(self, timeout_s: float = 5.0, *, startup_timeout_s: float = 120.0, stall_s: float = 0.0,
                 workers: int | None = None) -> None:
        self.timeout_s = timeout_s
        self.startup_timeout_s = startup_timeout_s
        self._stall_s = stall_s
        self.workers = max(1, workers or _cores())
        self._slots: list[_Slot] = [_Slot() for _ in range(self.workers)]
        self._idle: queue.Queue[_Slot] = queue.Queue()
        for slot in self._slots:
            self._idle.put(slot)
        self._count_lock = threading.Lock()
        self.timeouts = 0

    def __enter__(self) -> SymbolicChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self, slot: _Slot) -> subprocess.Popen[str]:
        if slot.process is not None and slot.process.poll() is None:
            return slot.process
        command = [sys.executable, "-m", "mlx_benchmarks.scoring.math_equiv", str(self._stall_s)]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, bufsize=1)
        if _readline(process, self.startup_timeout_s) != "ready":
            process.kill()
            process.wait()
            raise PrerequisiteError("the math-verify worker process did not start (is math-verify installed?)")
        slot.process = process
        return process

    @staticmethod
    def _kill(slot: _Slot) -> None:
        process, slot.process = slot.process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

    def equivalent(self, gold: str, predicted: str) -> bool | None:
        """True/False from math-verify, or None when the comparison ran past ``timeout_s``."""
        verdict = self._ask([gold, predicted, max(1, int(self.timeout_s))])
        return None if verdict is None else verdict is True

    def minerva_equiv(self, x1: str, x2: str) -> bool | Literal["unavailable"] | None:
        """lm-eval minerva_math's ``is_equiv`` (5 s alarm, as lm-eval); "unavailable" without sympy's parser."""
        verdict = self._ask(["minerva", x1, x2, 5])
        return verdict if verdict in (True, "unavailable", None) else False

    def lm_eval_math_verify(self, solution: str, reply: str) -> bool | None:
        """lm-eval minerva_math's ``math_verify`` metric on a whole reply; None past the time limit."""
        # math-verify's three alarms (parse gold, parse reply, verify) may each run their full budget,
        # and lm-eval waits for all of them: the backstop leaves room for that
        verdict = self._ask(["lm_eval_math_verify", solution, reply, max(1, int(self.timeout_s))],
                            wait_s=self.timeout_s * 3 + 10.0)
        return None if verdict is None else verdict is True

    def _ask(self, request: list[Any], wait_s: float | None = None) -> Any:
        """A worker's JSON answer to one request, or None when it ran past the limit (the worker is replaced)."""
        slot = self._idle.get()  # waits while every worker is busy
        try:
            process = self._start(slot)
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
            except OSError:
                self._kill(slot)
                return False
            # math-verify's own alarm fires at ``budget`` for each of its steps; this is the backstop
            line = _readline(process, self.timeout_s * 3 + 1.0 if wait_s is None else wait_s)
            if line:
                try:
                    return json.loads(line)
                except ValueError:
                    pass
            with self._count_lock:
                self.timeouts += 1
            self._kill(slot)  # a stuck sympy call never returns: the worker is replaced
            return None
        finally:
            self._idle.put(slot)

    def close(self) -> None:
        """Stop every worker (idempotent; waits for calls in progress)."""
        taken = [self._idle.get() for _ in self._slots]
        for slot in taken:
            self._kill(slot)
            self._idle.put(slot)


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS has no affinity masks
        return max(1, os.cpu_count() or 1)


def math_equivalent(predicted: str | None, gold: str, checker: SymbolicChecker | None) -> Equivalence:
    """Normalised string equality, then (with a checker) math-verify's symbolic comparison."""
    if predicted is None or not predicted.strip():
        return Equivalence(False, "unparsed")
    if normalize_answer(predicted) == normalize_answer(gold):
        return Equivalence(True, "normalized")
    if checker is None:
        return Equivalence(False, "different")
    verdict = checker.equivalent(gold, predicted)
    if verdict is None:
        return Equivalence(False, "timeout")
    return Equivalence(verdict, "symbolic" if verdict else "different")


if __name__ == "__main__":
    serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
