"""What the cursor is on in a parsed `.map` file: a field, a step, a function, a check, ...

One walk over the AST (dsl/ast.py), most specific node first, so hover and
go to definition agree on what a position means.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from dsl import ast
from editor.positions import contains

SymbolKind = Literal[
    "field", "step", "function", "validator", "check", "lookup", "column", "extends"
]


@dataclass(frozen=True, slots=True)
class Symbol:
    """A name at a position: its kind, its text, its span and the statement it is in.

    For a `check`, `name` is its kind (`matches`, `length`, `in`, `compare`, `range`).
    """

    kind: SymbolKind
    name: str
    span: ast.Span
    statement: ast.Statement


_CHECK_KINDS: dict[type, str] = {
    ast.MatchesCheck: "matches",
    ast.LengthCheck: "length",
    ast.InCheck: "in",
    ast.CompareCheck: "compare",
    ast.RangeCheck: "range",
}


def _expr_names(expr: ast.Expr) -> Iterator[tuple[SymbolKind, ast.Name]]:
    """Functions and columns inside an expression, inner ones included."""
    if isinstance(expr, ast.Call):
        yield "function", expr.function
        for arg in expr.args:
            yield from _expr_names(arg)
    elif isinstance(expr, ast.ColumnRef):
        yield "column", expr.name
    elif isinstance(expr, ast.Binary):
        yield from _expr_names(expr.left)
        yield from _expr_names(expr.right)
    elif isinstance(expr, ast.Unary):
        yield from _expr_names(expr.operand)
    elif isinstance(expr, ast.Group):
        yield from _expr_names(expr.inner)
    elif isinstance(expr, ast.When):
        for branch in expr.branches:
            yield from _expr_names(branch.condition)
            yield from _expr_names(branch.value)
        if expr.otherwise is not None:
            yield from _expr_names(expr.otherwise)


def _step_names(steps: tuple[ast.Step, ...] | None) -> Iterator[tuple[SymbolKind, ast.Name]]:
    for step in steps or ():
        yield "step", step.name
        if step.name.text == "lookup" and step.args and isinstance(step.args[0], ast.Name):
            yield "lookup", step.args[0]


def _field_names(stmt: ast.FieldStmt) -> Iterator[tuple[SymbolKind, ast.Name]]:
    yield "field", stmt.name
    yield from _step_names(stmt.steps)
    for check in stmt.checks or ():
        if isinstance(check, ast.NamedCheck):
            yield "validator", check.name
    if stmt.expression is not None:
        yield from _expr_names(stmt.expression)


def _names(stmt: ast.Statement) -> Iterator[tuple[SymbolKind, ast.Name]]:
    """The names of one statement that mean something on their own."""
    if isinstance(stmt, ast.FieldStmt):
        yield from _field_names(stmt)
    elif isinstance(stmt, ast.RemoveStmt):
        yield "field", stmt.name
    elif isinstance(stmt, ast.EveryStringStmt):
        yield from _step_names(stmt.steps)
    elif isinstance(stmt, ast.LookupStmt):
        yield "lookup", stmt.name
    elif isinstance(stmt, ast.ColumnStmt):
        yield "column", stmt.name
    elif isinstance(stmt, ast.RuleStmt):
        yield from _expr_names(stmt.condition)
    elif isinstance(stmt, ast.EachStmt):
        for each in stmt.objects:
            for _, value in each.pairs:
                yield from _expr_names(value)
    elif isinstance(stmt, ast.Example):
        for name in (*(stmt.expect_reject or ()), *(stmt.expect_warning or ())):
            yield "field", name


def symbol_at(mapfile: ast.MapFile, line: int, character: int) -> Symbol | None:
    """The symbol at a 0-based position, or None when the position names nothing known."""
    for stmt in mapfile.statements:
        if not contains(stmt.span, line, character):
            continue
        if isinstance(stmt, ast.MappingStmt) and stmt.extends is not None:
            literal = stmt.extends
            if contains(literal.span, line, character) and isinstance(literal.value, str):
                return Symbol("extends", literal.value, literal.span, stmt)
        for kind, name in _names(stmt):
            if contains(name.span, line, character):
                return Symbol(kind, name.text, name.span, stmt)
        if isinstance(stmt, ast.FieldStmt):
            for check in stmt.checks or ():
                check_kind = _CHECK_KINDS.get(type(check))
                if check_kind is not None and contains(check.span, line, character):
                    return Symbol("check", check_kind, check.span, stmt)
    return None


def field_statements(mapfile: ast.MapFile, name: str) -> list[ast.FieldStmt]:
    """The `field` and `override` lines of a canonical field, in source order."""
    return [
        stmt
        for stmt in mapfile.statements
        if isinstance(stmt, ast.FieldStmt) and stmt.name.text == name
    ]
