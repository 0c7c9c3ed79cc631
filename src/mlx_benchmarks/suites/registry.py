"""Suite name -> module. Modules are imported lazily, so the CLI starts without optional extras."""

from __future__ import annotations

import importlib

from mlx_benchmarks.envelope import suite_names
from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.suites.base import Suite

# suite name (the envelope's ``suite``) -> "module:ClassName"
SUITES: dict[str, str] = {
    "tool-calling": "mlx_benchmarks.suites.tool_calling:ToolCallingSuite",
    "framework-eval": "mlx_benchmarks.suites.framework_eval:FrameworkEvalSuite",
    "throughput": "mlx_benchmarks.suites.throughput:ThroughputSuite",
    "ttft": "mlx_benchmarks.suites.ttft:TTFTSuite",
    "reasoning": "mlx_benchmarks.suites.reasoning:ReasoningSuite",
    "knowledge": "mlx_benchmarks.suites.knowledge:KnowledgeSuite",
    "math-hard": "mlx_benchmarks.suites.math_hard:MathHardSuite",
    "coding": "mlx_benchmarks.suites.coding:CodingSuite",
    "code-accuracy": "mlx_benchmarks.suites.code_accuracy:CodeAccuracySuite",
    "evalplus": "mlx_benchmarks.suites.evalplus:EvalPlusSuite",
}


def available() -> list[str]:
    return sorted(SUITES)


def get_suite(name: str) -> Suite:
    """An instance of the named suite; UsageError naming the choices when unknown."""
    if name not in SUITES:
        known = ", ".join(available()) or "none"
        hint = " (a schema suite not implemented yet)" if name in suite_names() else ""
        raise UsageError(f"unknown suite {name!r}{hint}; choose one of: {known}")
    module_name, _, class_name = SUITES[name].partition(":")
    module = importlib.import_module(module_name)
    suite: Suite = getattr(module, class_name)()
    return suite
