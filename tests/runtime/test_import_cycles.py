"""Imports inside runtime/ flow one way: no module reaches itself again, not even from a function."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"


def _module_name(path: Path) -> str:
    parts = path.relative_to(RUNTIME.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, known: set[str]) -> set[str]:
    """Every runtime module `tree` imports, at any depth (functions and TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found & known


def _graph(level: int | None) -> dict[str, set[str]]:
    """module -> modules it imports; with `level`, names cut to that many parts (subpackages)."""
    paths = {_module_name(path): path for path in RUNTIME.rglob("*.py")}

    def unit(name: str) -> str:
        return name if level is None else ".".join(name.split(".")[:level])

    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = _imported(ast.parse(path.read_text()), set(paths))
        graph.setdefault(unit(name), set()).update(
            unit(target) for target in targets if unit(target) != unit(name)
        )
    return graph


def test_no_import_cycle_between_modules() -> None:
    try:
        TopologicalSorter(_graph(None)).prepare()
    except CycleError as cycle:
        raise AssertionError(f"import cycle: {' -> '.join(cycle.args[1])}") from None


def test_no_import_cycle_between_subpackages() -> None:
    try:
        TopologicalSorter(_graph(2)).prepare()
    except CycleError as cycle:
        raise AssertionError(f"import cycle: {' -> '.join(cycle.args[1])}") from None
