"""lm-evaluation-harness 0.4.13 ``minerva_math``'s answer handling (``tasks/minerva_math/utils.py``), reproduced.

``exact_match`` there: the text between "Final Answer: The final answer is" and "I hope it is correct."
(``get_unnormalized_answer``), normalised (``normalize_final_answer``, Lewkowycz et al. 2022 appendix D),
compared with the normalised gold (the last ``\\boxed{}`` of the reference solution) by ``is_equiv``: equal
strings, else sympy's ``parse_latex`` of both and ``simplify(a - b) == 0``. ``is_equiv`` runs in the math
worker process (``math_equiv.SymbolicChecker``), where a signal alarm can bound it as lm-eval does.

sympy's LaTeX parser needs ``antlr4-python3-runtime`` 4.11; math-verify installs 4.13, under which lm-eval
refuses to load the task at all. Then ``is_equiv`` has only its string-equality step, and the worker says so.
"""

from __future__ import annotations

import re

REFERENCE = "lm-eval 0.4.13 minerva_math"
INVALID_ANSWER = "[invalidanswer]"
UNTIL = ("Problem:",)  # the task's stop sequence

SUBSTITUTIONS = [
    ("an ", ""), ("a ", ""), (".$", "$"), ("\\$", ""), (r"\ ", ""), (" ", ""), ("mbox", "text"),
    (",\\text{and}", ","), ("\\text{and}", ","), ("\\text{m}", "\\text{}"),
]
REMOVED_EXPRESSIONS = [
    "square", "ways", "integers", "dollars", "mph", "inches", "ft", "hours", "km", "units", "\\ldots", "sue",
    "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm", "pounds", "meters", "meals", "edges",
    "students", "childrentickets", "multiples", "\\text{s}", "\\text{.}", "\\text{\ns}", "\\text{}^2",
    "\\text{}^3", "\\text{\n}", "\\text{}", r"\mathrm{th}", r"^\circ", r"^{\circ}", r"\;", r",\!", "{,}", '"',
    "\\dots",
]


def last_boxed_only_string(text: str) -> str | None:
    """The last ``\\boxed{...}`` (or ``\\fbox{...}``, or ``\\boxed X`` up to a ``$``) with its command."""
    idx = text.rfind("\\boxed")
    if "\\boxed " in text:
        return "\\boxed " + text.split("\\boxed ")[-1].split("$")[0]
    if idx < 0:
        idx = text.rfind("\\fbox")
        if idx < 0:
            return None
    depth = 0
    for i in range(idx, len(text)):
        if text[i] == "{":
            depth += 1
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[idx : i + 1]
    return None


def remove_boxed(text: str) -> str:
    """``\\boxed{X}`` -> ``X``; ValueError where lm-eval's assertions would fail (``\\fbox``, no braces)."""
    if "\\boxed " in text:
        if not text.startswith("\\boxed "):
            raise ValueError(f"not a \\boxed answer: {text[:40]!r}")
        return text[len("\\boxed ") :]
    if not text.startswith("\\boxed{") or not text.endswith("}"):
        raise ValueError(f"not a \\boxed answer: {text[:40]!r}")
    return text[len("\\boxed{") : -1]


def get_unnormalized_answer(text: str) -> str:
    """What follows "Final Answer: The final answer is", up to "I hope it is correct." (appended if absent)."""
    match = re.search(r"Final Answer: The final answer is(.*?). I hope it is correct.", text + "I hope it is correct.")
    return match.group(1).strip() if match else INVALID_ANSWER


def normalize_final_answer(final_answer: str) -> str:
    """Minerva's normalisation of a final answer, as lm-eval 0.4.13 writes it."""
    final_answer = final_answer.split("=")[-1]
    for expr in REMOVED_EXPRESSIONS:
        if expr.isalpha():  # unit words while whitespace still delimits them; "\left" keeps its "ft"
            final_answer = re.sub(rf"(?<!\\)\b{expr}\b", "", final_answer)
    for before, after in SUBSTITUTIONS:
        final_answer = final_answer.replace(before, after)
    for expr in REMOVED_EXPRESSIONS:
        if expr.isalpha():  # units glued on once whitespace is gone, outside LaTeX command names
            segments = re.split(r"(\\[a-zA-Z]+)", final_answer)
            for i in range(0, len(segments), 2):
                segments[i] = segments[i].replace(expr, "")
            final_answer = "".join(segments)
        else:
            final_answer = final_answer.replace(expr, "")
    final_answer = re.sub(r"(.*?)(\$)(.*?)(\$)(.*)", "$\\3$", final_answer)
    final_answer = re.sub(r"(\\text\{)(.*?)(\})", "\\2", final_answer)
    final_answer = re.sub(r"(\\textbf\{)(.*?)(\})", "\\2", final_answer)
    final_answer = re.sub(r"(\\overline\{)(.*?)(\})", "\\2", final_answer)
    final_answer = re.sub(r"(\\boxed\{)(.*)(\})", "\\2", final_answer)
    final_answer = re.sub(r"(frac)([^{])(.)", "frac{\\2}{\\3}", final_answer)
    final_answer = re.sub(r"(sqrt)(\[[^\]]*\])(\w)", "\\1\\2{\\3}", final_answer)
    final_answer = re.sub(r"(sqrt)(?!\[)([^{])", "sqrt{\\2}", final_answer)
    final_answer = final_answer.replace("$", "")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+", final_answer):  # 100,000 -> 100000; a tuple "0,1" stays
        final_answer = final_answer.replace(",", "")
    return final_answer


def gold_answer(solution: str) -> str:
    """The normalised gold of a reference solution (lm-eval's ``process_docs``)."""
    boxed = last_boxed_only_string(solution)
    if boxed is None:
        raise ValueError("the reference solution has no \\boxed answer")
    return normalize_final_answer(remove_boxed(boxed))


def reply_answer(reply: str) -> str:
    """The normalised answer of a reply as ``minerva_math`` reads it (``[invalidanswer]`` when absent)."""
    return normalize_final_answer(get_unnormalized_answer(reply))


def boxed_answer(reply: str) -> str | None:
    """The normalised last ``\\boxed{}`` of a reply (our ``exact_match_boxed``), None when there is none."""
    boxed = last_boxed_only_string(reply)
    if boxed is None:
        return None
    try:
        return normalize_final_answer(remove_boxed(boxed))
    except ValueError:
        return None


class LatexParserUnavailable(Exception):
    """sympy's LaTeX parser cannot load (antlr4 runtime other than 4.11)."""


def is_equiv_in_process(x1: str, x2: str, timeout_s: int = 5) -> bool:
    """lm-eval's ``is_equiv``: identical strings, else ``simplify(parse_latex(x1) - parse_latex(x2)) == 0``.

    Main thread only (``signal.alarm``, as lm-eval). LatexParserUnavailable where lm-eval would raise.
    """
    if x1 and x1 == x2:
        return True
    import signal

    import sympy
    from sympy.parsing.latex import parse_latex
    from sympy.parsing.latex.errors import LaTeXParsingError

    def alarm(signum: int, frame: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(timeout_s)
    try:
        try:
            parsed_x1, parsed_x2 = parse_latex(x1), parse_latex(x2)
        except (LaTeXParsingError, sympy.SympifyError, TypeError):
            return False
        try:
            diff = parsed_x1 - parsed_x2
        except TypeError:
            return False
        try:
            return bool(sympy.simplify(diff) == 0)
        except ValueError:
            return False
    except TimeoutError:
        return False
    except ImportError as exc:
        raise LatexParserUnavailable(str(exc)) from None
    except Exception:  # lm-eval counts any other failure as "not equal"
        return False
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
