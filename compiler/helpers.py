"""Copying the prelude's helpers into generated modules: only those used, with their imports.

`compiler/prelude.py` is read as source text and split into its top-level
definitions; a definition's dependencies are the other definitions and the
imported names it mentions. A generated module gets the closure of what its
code calls, in prelude order, so it stays small and self-contained.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class _Prelude:
    order: tuple[str, ...]
    sources: dict[str, str]
    uses: dict[str, frozenset[str]]
    imports: dict[str, tuple[str, str | None]]


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    return []


@functools.cache
def _prelude() -> _Prelude:
    text = resources.files("compiler").joinpath("prelude.py").read_text("utf-8")
    tree = ast.parse(text)
    order: list[str] = []
    sources: dict[str, str] = {}
    uses: dict[str, frozenset[str]] = {}
    imports: dict[str, tuple[str, str | None]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                imports[alias.asname or alias.name] = (alias.name, None)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                imports[alias.asname or alias.name] = (node.module or "", alias.name)
        for name in _bound_names(node):
            segment = ast.get_source_segment(text, node)
            assert segment is not None
            order.append(name)
            sources[name] = segment
            uses[name] = frozenset(
                sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and sub.id != name
            )
    return _Prelude(tuple(order), sources, uses, imports)


def helper_names() -> frozenset[str]:
    """Every name the prelude defines."""
    return frozenset(_prelude().order)


def closure(names: Iterable[str]) -> tuple[str, ...]:
    """The named helpers and everything they use, in prelude order."""
    prelude = _prelude()
    wanted: set[str] = set()
    pending = [name for name in names if name in prelude.sources]
    unknown = [
        name for name in names if name not in prelude.sources and name not in prelude.imports
    ]
    if unknown:
        raise KeyError(f"not a prelude name: {', '.join(sorted(unknown))}")
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        pending.extend(use for use in prelude.uses[name] if use in prelude.sources)
    return tuple(name for name in prelude.order if name in wanted)


def helper_source(name: str) -> str:
    """The source text of one prelude definition."""
    return _prelude().sources[name]


def _import_lines(modules: Iterable[tuple[str, str | None]]) -> list[str]:
    """`import m` lines, then `from m import a, B` lines, each sorted as isort sorts them."""
    plain = sorted({module for module, member in modules if member is None})
    grouped: dict[str, list[str]] = {}
    for module, member in set(modules):
        if member is not None:
            grouped.setdefault(module, []).append(member)
    lines = [f"import {module}" for module in plain]
    for module in sorted(grouped):
        members = sorted(grouped[module], key=lambda member: (not member[:1].isupper(), member))
        lines.append(f"from {module} import {', '.join(members)}")
    return lines


def imports_for(helpers: Iterable[str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Import lines for what `helpers` (and `extra` imported names) use, sorted as isort sorts:
    the standard library's, then (after an empty line) the runtime dependencies' (`_re2`)."""
    prelude = _prelude()
    needed = set(extra)
    for name in helpers:
        needed.update(use for use in prelude.uses[name] if use in prelude.imports)
    modules = [prelude.imports[name] for name in needed]
    standard = [item for item in modules if item[0].split(".")[0] in sys.stdlib_module_names]
    others = [item for item in modules if item not in standard]
    lines = _import_lines(standard)
    if standard and others:
        lines.append("")
    return (*lines, *_import_lines(others))
