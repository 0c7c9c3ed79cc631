"""The fixed agent tasks of ``framework-eval``: multi-step, deterministic tools, checkable final answers.

Each task carries a reference solution (the tool calls that solve it), which the tests replay through the
tools to prove the expected answer, and which the scripted test server follows to play a perfect agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
SYSTEM_PROMPT = (
    "You are a careful assistant with tools. Use the tools to work the task out step by step; do not guess "
    "numbers. When you are done, reply with a short final answer that states the result."
)


@dataclass(frozen=True)
class AgentTask:
    """One task: the user's request, its files, the expected answer, and a reference solution."""

    id: str
    prompt: str
    answer: float | str
    reference: tuple[tuple[str, dict[str, Any]], ...]
    files: dict[str, str] = field(default_factory=dict)
    tolerance: float = 0.01

    def write_files(self, folder: Path) -> None:
        for name, text in self.files.items():
            (folder / name).write_text(text, encoding="utf-8")


def numbers_in(text: str) -> list[float]:
    out = []
    for match in NUMBER_RE.findall(text):
        try:
            out.append(float(match.replace(",", "")))
        except ValueError:
            continue
    return out


def check_answer(task: AgentTask, text: str) -> bool:
    """A number within tolerance anywhere in the final answer, or the expected word (case-insensitive)."""
    if isinstance(task.answer, str):
        return re.search(rf"\b{re.escape(task.answer)}\b", text, re.IGNORECASE) is not None
    return any(abs(n - task.answer) <= task.tolerance for n in numbers_in(text))


TASKS: tuple[AgentTask, ...] = (
    AgentTask("miles_times_three", "Convert 5 miles to kilometres, then multiply the result by 3.", 24.14016,
              (("convert_units", {"value": 5, "from_unit": "mi", "to_unit": "km"}),
               ("calculator", {"expression": "8.04672 * 3"}))),
    AgentTask("body_temperature", "What is 98.6 degrees Fahrenheit in degrees Celsius?", 37.0,
              (("convert_units", {"value": 98.6, "from_unit": "f", "to_unit": "c"}),)),
    AgentTask("capital_from_file", "The file country.txt names a country. What is the capital of that country?",
              "Nairobi", (("read_file", {"name": "country.txt"}), ("lookup", {"table": "countries", "key": "kenya"})),
              files={"country.txt": "kenya\n"}),
    AgentTask("order_total", "Using the prices in the products table, what do 12 widgets and 3 gadgets cost in total?",
              110.97, (("lookup", {"table": "products", "key": "widget"}),
                       ("lookup", {"table": "products", "key": "gadget"}),
                       ("calculator", {"expression": "12 * 4.25 + 3 * 19.99"}))),
    AgentTask("iron_grams", "Using the atomic mass from the elements table, how many grams do 2 moles of iron weigh?",
              111.69, (("lookup", {"table": "elements", "key": "iron"}), ("calculator", {"expression": "2 * 55.845"}))),
    AgentTask("square_root_chain", "Compute 12 * 12 + 25, then take the square root of that result.", 13.0,
              (("calculator", {"expression": "12 * 12 + 25"}), ("calculator", {"expression": "sqrt(169)"}))),
    AgentTask("marathon_miles", "How many miles is the distance written in run.txt? Give two decimals.", 26.22,
              (("read_file", {"name": "run.txt"}),
               ("convert_units", {"value": 42.195, "from_unit": "km", "to_unit": "mi"})),
              files={"run.txt": "distance: 42.195 km\n"}),
    AgentTask("sum_numbers_file", "Add up all the numbers listed in numbers.txt.", 213.0,
              (("read_file", {"name": "numbers.txt"}), ("calculator", {"expression": "17 + 25 + 58 + 113"})),
              files={"numbers.txt": "17\n25\n58\n113\n"}),
    AgentTask("population_gap", "How many million more people live in Japan than in Peru, according to the "
              "countries table?", 90.1,
              (("lookup", {"table": "countries", "key": "japan"}), ("lookup", {"table": "countries", "key": "peru"}),
               ("calculator", {"expression": "124.5 - 34.4"}))),
    AgentTask("fallback_file", "Read report.txt; if it does not exist, read report_v2.txt instead. Convert the total "
              "it states from pounds to kilograms.", 99.79032,
              (("read_file", {"name": "report.txt"}), ("read_file", {"name": "report_v2.txt"}),
               ("convert_units", {"value": 220, "from_unit": "lb", "to_unit": "kg"})),
              files={"report_v2.txt": "total: 220 lb\n"}),
)


def task_by_prompt(prompt: str) -> AgentTask | None:
    """The task whose request this is, even inside a framework's wrapper text (the scripted test server uses it)."""
    return next((t for t in TASKS if t.prompt in prompt), None)


def select_tasks(value: str | None) -> list[AgentTask]:
    """Tasks named in ``--tasks`` (comma separated), or all; ValueError naming an unknown one."""
    if not value or value.strip() == "all":
        return list(TASKS)
    wanted = [t.strip() for t in value.split(",") if t.strip()]
    known = {t.id: t for t in TASKS}
    for name in wanted:
        if name not in known:
            raise ValueError(f"unknown agent task {name!r}; choose from: {', '.join(known)}")
    return [known[name] for name in dict.fromkeys(wanted)]
