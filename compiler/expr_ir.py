"""Typed expressions (version 2): what `compiler.expressions` checks and `compiler.lower_expr` emits.

Every node carries its type, decided at compile time from the declared types
of the columns it reads; nothing is typed "any". `null` is the type of the
`null` literal only (a value that is always missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

ExprType = Literal["string", "int", "decimal", "bool", "date", "datetime", "null"]
NUMBERS: frozenset[str] = frozenset({"int", "decimal"})


@dataclass(frozen=True, slots=True)
class Column:
    """A declared source column: where it is read (`key` or a dotted `path`) and its type.

    `element` is True for `column line.key TYPE`: a key of each element of an
    `each` array, read from the element, not from the record.
    """

    name: str
    type: ExprType
    key: str
    path: tuple[str, ...] | None
    element: bool
    line: int


@dataclass(frozen=True, slots=True)
class Lit:
    value: str | int | Decimal | bool | None
    type: ExprType


@dataclass(frozen=True, slots=True)
class Col:
    """A column (or, inside `each ... in {...}`, a key of the line)."""

    name: str
    type: ExprType


BinaryOp = Literal["add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge", "and", "or"]


@dataclass(frozen=True, slots=True)
class Bin:
    op: BinaryOp
    left: Expr
    right: Expr
    type: ExprType
    operands: ExprType  # the operands' type (datetimes compare through their zone)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    type: ExprType = "bool"


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expr
    type: ExprType


@dataclass(frozen=True, slots=True)
class Call:
    """A function of the closed set; `consts` are its compile-time arguments (regex, zone, mode)."""

    function: str
    args: tuple[Expr, ...]
    consts: tuple[object, ...]
    type: ExprType


@dataclass(frozen=True, slots=True)
class When:
    branches: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr | None
    type: ExprType


Expr = Lit | Col | Bin | Not | Neg | Call | When


def columns_of(expr: Expr) -> tuple[str, ...]:
    """The columns an expression reads, in first-use order, each once."""
    found: dict[str, None] = {}

    def walk(node: Expr | None) -> None:
        if node is None:
            return
        if isinstance(node, Col):
            found.setdefault(node.name, None)
        elif isinstance(node, Bin):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Not | Neg):
            walk(node.operand)
        elif isinstance(node, Call):
            for arg in node.args:
                walk(arg)
        elif isinstance(node, When):
            for condition, value in node.branches:
                walk(condition)
                walk(value)
            walk(node.otherwise)

    walk(expr)
    return tuple(found)
