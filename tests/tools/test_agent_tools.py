"""Deterministic agent tools and the fixed tasks: every reference solution reaches its expected answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlx_benchmarks.agents.tasks import TASKS, AgentTask, check_answer, select_tasks, task_by_prompt
from mlx_benchmarks.agents.tools import Toolbox, ToolError, calculate, convert_units, lookup, read_file


def test_calculator_is_arithmetic_only() -> None:
    assert calculate("(2 + 3) * sqrt(16) - 2 ** 3") == 12.0
    assert calculate("7 // 2 + 7 % 2 + abs(-1) + round(2.6)") == 8
    for bad in ("__import__('os').system('true')", "x + 1", "(1).real", "[1, 2]", "2 ** 1000", "1 / 0", "1 +"):
        with pytest.raises(ToolError):
            calculate(bad)


def test_units_and_lookup() -> None:
    assert convert_units(5, "miles", "km") == pytest.approx(8.04672)
    assert convert_units(98.6, "F", "celsius") == pytest.approx(37.0)
    assert convert_units(0, "c", "k") == pytest.approx(273.15)
    with pytest.raises(ToolError, match="cannot convert length"):
        convert_units(1, "km", "kg")
    with pytest.raises(ToolError, match="unknown unit"):
        convert_units(1, "parsec", "km")
    assert lookup("Countries", " Kenya ")["capital"] == "Nairobi"
    with pytest.raises(ToolError, match="no row 'atlantis'"):
        lookup("countries", "atlantis")


def test_read_file_stays_in_its_folder(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    assert read_file(tmp_path, "a.txt") == "hello"
    with pytest.raises(ToolError, match="outside"):
        read_file(tmp_path, "../etc/passwd")
    with pytest.raises(ToolError, match=r"files: a\.txt"):
        read_file(tmp_path, "b.txt")


def test_toolbox_turns_failures_into_counted_messages(tmp_path: Path) -> None:
    box = Toolbox(tmp_path)
    assert box.run("calculator", {"expression": "1 + 2"}) == "3"
    assert box.run("calculator", {}).startswith("error: missing argument")
    assert box.run("teleport", {}).startswith("error: no tool 'teleport'")
    assert box.run("lookup", None) == "error: arguments are not a JSON object"
    assert (box.calls, box.errors) == (4, 3)
    assert {t["function"]["name"] for t in Toolbox.openai_tools()} == {"calculator", "convert_units", "lookup",
                                                                      "read_file"}


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_reference_solution_reaches_the_answer(task: AgentTask, tmp_path: Path) -> None:
    task.write_files(tmp_path)
    box = Toolbox(tmp_path)
    outputs = [box.run(name, args) for name, args in task.reference]
    assert len(task.reference) >= 1 and task_by_prompt(task.prompt) is task
    assert check_answer(task, f"So the result is {outputs[-1]}.") or check_answer(task, json.dumps(outputs[-1]))
    assert not check_answer(task, "I am not sure.")


def test_answer_checking_and_selection() -> None:
    task = select_tasks("order_total")[0]
    assert check_answer(task, "It costs $110.97 in total (12 x 4.25 + 3 x 19.99).")
    assert not check_answer(task, "It costs 111.50.")
    assert check_answer(select_tasks("capital_from_file")[0], "The capital is nairobi.")
    assert len(select_tasks(None)) == len(TASKS) >= 8
    with pytest.raises(ValueError, match="unknown agent task"):
        select_tasks("nope")
    assert sum(1 for t in TASKS if any(n == "read_file" for n, _ in t.reference)) >= 3
