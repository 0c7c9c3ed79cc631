"""Data flows one way: target -> runner -> scorer -> envelope -> store -> views. Keep the imports honest."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "mlx_benchmarks"

# lower ranks never import higher ranks
RANKS = {
    "errors": 0, "redact": 0, "lazy": 0, "paths": 0, "fileio": 0, "build_info": 0, "aio": 0,
    "envelope": 1, "system": 1,
    "store": 2, "query": 2, "index": 2,
    "targets": 3, "measure": 3, "datasets": 3, "scoring": 3, "sandbox": 3,
    "agents": 4,
    "suites": 5, "importers": 5,
    "runner": 6, "sweep": 6, "compare": 6, "views": 6, "lake": 6,
    "report": 7, "dashboard": 7, "fleet": 7,
    "cli": 9,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # imports for type checking only never run: drop `if TYPE_CHECKING:` blocks
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlx_benchmarks"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mlx_benchmarks"))
    return found


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_area_has_a_rank() -> None:
    areas = {area(module_name(p)) for p in SRC.rglob("*.py")} - {"", "__main__"}
    assert areas <= set(RANKS), f"give these a rank in RANKS: {sorted(areas - set(RANKS))}"


def test_no_upward_imports() -> None:
    upward = []
    for path in SRC.rglob("*.py"):
        here = module_name(path)
        for target in imports_of(path):
            if area(target) and area(here) and RANKS.get(area(target), 0) > RANKS.get(area(here), 0):
                upward.append(f"{here} -> {target}")
    assert not upward, "upward imports: " + ", ".join(sorted(upward))


def test_no_import_cycles_between_modules() -> None:
    graph = {module_name(p): {t for t in imports_of(p)} for p in SRC.rglob("*.py")}
    known = set(graph)
    graph = {m: {t for t in deps if t in known and t != m} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    packages = {module_name(p) for p in SRC.rglob("__init__.py")}

    def excused(cycle: str) -> bool:
        # a package __init__ re-exporting its own modules is not a cycle of substance
        nodes = cycle.split(" -> ")
        return any(n in packages and all(m == n or m.startswith(n + ".") for m in nodes) for n in nodes)

    real = [c for c in cycles if not excused(c)]
    assert not real, "import cycles: " + "; ".join(real)
