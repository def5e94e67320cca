"""The project's import graph, read from the source with `ast`: who imports whom.

Every import statement counts, at module level or inside a function (a lazy
import is still a dependency: it runs the first time the function does).
Imports under `if TYPE_CHECKING:` do not count: they never run, so they are
no edge at run time and cannot make an import cycle or put a package in the
Lambda; the type checker sees them, the interpreter does not. An import by
computed name (`importlib.import_module(name)`, as the adapter registry does)
is not seen: no import statement shows it.

`from a import b` is an edge to the module `a.b` when there is one, else to
`a`; `import a.b.c` is an edge to the longest prefix that is one of the
walked modules. Names outside the walked packages are kept as their top-level
name (`httpx`, `json`), for the checks on what a package may depend on.
"""

from __future__ import annotations

import ast
import graphlib
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


@dataclass(frozen=True, order=True)
class Import:
    """One edge: `importer` (a walked module) needs `imported`."""

    importer: str
    imported: str  # a walked module, or the top-level name of anything else
    path: Path
    line: int
    lazy: bool  # inside a function: runs when the function first does

    @property
    def importer_package(self) -> str:
        return self.importer.split(".")[0]

    @property
    def imported_package(self) -> str:
        return self.imported.split(".")[0]

    def __str__(self) -> str:
        kind = " (lazy)" if self.lazy else ""
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported}{kind}"


def modules_of(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of `packages` under `root`, by dotted name (a package by its own name)."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Statement(NamedTuple):
    """An import as written: `from {level dots}{base} import {name}`, or `import {base}`."""

    base: str
    level: int
    name: str | None
    line: int
    lazy: bool


class _Collector(ast.NodeVisitor):
    """The import statements of one module that run."""

    def __init__(self) -> None:
        self.found: list[_Statement] = []
        self._depth = 0

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for statement in node.orelse:
                self.visit(statement)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append(_Statement(alias.name, 0, None, node.lineno, self._depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            statement = _Statement(
                node.module or "", node.level, alias.name, node.lineno, self._depth > 0
            )
            self.found.append(statement)


def _resolve(
    module: str, is_package: bool, statement: _Statement, known: Mapping[str, Path]
) -> str:
    """The walked module a statement reaches, or the top-level name it names."""
    base = statement.base
    if statement.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (statement.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    if statement.name is not None and f"{base}.{statement.name}" in known:
        return f"{base}.{statement.name}"
    parts = base.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in known:
            return prefix
    return parts[0]


def imports_of(root: Path, packages: Sequence[str]) -> list[Import]:
    """Every import that runs in the modules of `packages` under `root`, self-imports left out."""
    known = modules_of(root, packages)
    edges: set[Import] = set()
    for module, path in known.items():
        collector = _Collector()
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        is_package = path.name == "__init__.py"
        for statement in collector.found:
            imported = _resolve(module, is_package, statement, known)
            if imported != module:
                where = path.relative_to(root)
                edges.add(Import(module, imported, where, statement.line, statement.lazy))
    return sorted(edges)


def graph_of(edges: Iterable[Import], nodes: Iterable[str]) -> dict[str, set[str]]:
    """importer -> what it imports, for edges between `nodes` (by name, not by package)."""
    wanted = set(nodes)
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        if edge.importer in wanted and edge.imported in wanted:
            graph[edge.importer].add(edge.imported)
    return dict(graph)


def package_graph(edges: Iterable[Import]) -> dict[str, set[str]]:
    """Top-level package -> the other top-level packages it imports."""
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        if edge.importer_package != edge.imported_package:
            graph[edge.importer_package].add(edge.imported_package)
    return dict(graph)


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One import cycle, in import order (`a`, `b`, ..., `a`: each imports the next), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as cycle:
        return list(reversed(cycle.args[1]))  # graphlib lists each node before its importers
    return None


def edges_between(edges: Iterable[Import], cycle: Sequence[str], by_package: bool) -> Iterator[str]:
    """The statements behind each step of a cycle, to say where to cut it."""
    steps = set(itertools.pairwise(cycle))
    for edge in edges:
        if by_package:
            step = (edge.importer_package, edge.imported_package)
        else:
            step = (edge.importer, edge.imported)
        if step in steps:
            yield str(edge)


def describe_cycle(edges: Sequence[Import], cycle: Sequence[str], by_package: bool) -> str:
    """`a -> b -> a` and the import statements that make it."""
    lines = [" -> ".join(cycle), *edges_between(edges, cycle, by_package)]
    return "\n  ".join(lines)


def layer_violations(edges: Iterable[Import], layers: Mapping[str, Iterable[str]]) -> list[Import]:
    """Imports between two packages of `layers` that the importer's layer does not allow."""
    return [
        edge
        for edge in edges
        if edge.importer_package in layers
        and edge.imported_package in layers
        and edge.imported_package != edge.importer_package
        and edge.imported_package not in layers[edge.importer_package]
    ]


def outside_imports(
    edges: Iterable[Import], packages: Mapping[str, Iterable[str]], allowed: Iterable[str]
) -> list[Import]:
    """Imports by `packages` (each with the packages of ours it may use) of anything else that
    is not one of the `allowed` top-level names."""
    names = frozenset(allowed)
    return [
        edge
        for edge in edges
        if edge.importer_package in packages
        and edge.imported_package != edge.importer_package
        and edge.imported_package not in packages[edge.importer_package]
        and edge.imported_package not in names
    ]
