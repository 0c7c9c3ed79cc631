"""Pull a runnable program out of a model's answer to a coding prompt.

Models answer a HumanEval prompt in one of three shapes: the whole function (often re-stating the
signature and docstring), only the body that continues the prompt, or prose with one or more fenced
blocks. ``code_program`` turns each into a program the sandbox can run with the task's tests:

- fenced blocks: the first ``python``/``py``/unlabelled block that defines the entry point, else the
  longest block; an unclosed fence (the reply hit ``max_tokens``) runs to the end of the reply;
- no fence: the reply from its first line that looks like code;
- a body continuation (indented, no ``def entry_point``) is appended to the prompt prefix;
- a full function is appended *after* the prompt prefix, so helpers and imports defined in the prompt
  (HumanEval/38's ``encode_cyclic``, ``from typing import List``) exist and the model's definition wins.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from typing import Literal

FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
CODE_START_RE = re.compile(r"^(?:def |async def |class |import |from |@|    |\t)", re.MULTILINE)
PYTHON_LABELS = {"", "python", "py", "python3", "pycon"}

CodeForm = Literal["full", "continuation", "none"]


@dataclass(frozen=True)
class CodeAnswer:
    """The program to run and how it was read from the reply."""

    program: str
    code: str  # the code taken from the reply, before the prompt prefix was added
    form: CodeForm
    fenced: bool


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language label, code), in order; the last may be unclosed."""
    return [(m.group(1).lower(), m.group(2)) for m in FENCE_RE.finditer(text)]


def defines(code: str, name: str) -> bool:
    """Whether ``code`` defines a top-level function called ``name``."""
    return re.search(rf"^(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


def _pick_block(text: str, entry_point: str) -> str | None:
    blocks = [code for label, code in fenced_blocks(text) if label in PYTHON_LABELS]
    if not blocks:
        return None
    for code in blocks:
        if defines(code, entry_point):
            return code
    return max(blocks, key=len)


def _unfenced_code(text: str) -> str:
    """The reply itself when it is code (a whole program or a bare body), else from its first code line."""
    probe = "def _probe():\n"
    if _parses(text) or _parses(probe + _body(probe, text)):
        return text
    match = CODE_START_RE.search(text)
    return text[match.start():] if match else text


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def code_program(text: str, *, entry_point: str, prompt_prefix: str = "") -> CodeAnswer:
    """The program to execute for ``text``, given the task's entry point and the prompt it continues."""
    block = _pick_block(text, entry_point)
    fenced = block is not None
    code = (block if block is not None else _unfenced_code(text)).rstrip() + "\n"
    if not code.strip():
        return CodeAnswer(program="", code="", form="none", fenced=fenced)
    prefix = prompt_prefix.rstrip() + "\n" if prompt_prefix.strip() else ""
    if defines(code, entry_point) or not prefix:
        return CodeAnswer(program=f"{prefix}\n{code}" if prefix else code, code=code, form="full", fenced=fenced)
    return CodeAnswer(program=prefix + _body(prefix, code), code=code, form="continuation", fenced=fenced)


def _body(prefix: str, code: str) -> str:
    """The continuation indented so that it parses after the prefix.

    The engine strips the reply, so a bare body arrives with its first line's indentation gone; a
    model may also send the body flush left. The first candidate that parses wins.
    """
    lines = code.splitlines(keepends=True)
    first_lost = len(lines) > 1 and not code[:1].isspace() and any(line[:1].isspace() for line in lines[1:])
    candidates = [
        code if code[:1].isspace() else None,
        "    " + code if first_lost else None,
        textwrap.indent(code, "    "),
        textwrap.indent(textwrap.dedent(code), "    "),
    ]
    for body in candidates:
        if body is not None and _parses(prefix + body):
            return body
    return textwrap.indent(code, "    ")
