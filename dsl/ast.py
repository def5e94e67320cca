"""Typed syntax tree of a `.map` file.

Every node is a frozen, slotted dataclass carrying the span it came from, so
that each later stage (checks, codegen, the formatter) can point back at the
source. Child lists are tuples. The parser builds these nodes and does nothing
else; meaning is given by the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal as Lit

LiteralValue = str | int | Decimal | bool | None


@dataclass(frozen=True, slots=True)
class Span:
    """A region of source text; lines and columns are 1-based, ends exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Name:
    """An identifier as written (a field, type, step, validator, lookup or policy name)."""

    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Literal:
    """A string, number (int or Decimal), boolean or null literal."""

    value: LiteralValue
    span: Span


class JsonNumber(Decimal):
    """A JSON number of an example that is not a plain integer, with its text as written.

    It is a Decimal (12.50 stays 12.50, 12345678901234567890.125 keeps every
    digit) and remembers its text, so the formatter writes `1e3` or `12.50`
    back as it was written.
    """

    text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number


@dataclass(frozen=True, slots=True)
class JsonValue:
    """A JSON value inside an example block (dicts, lists and scalars as Python values)."""

    value: object
    span: Span


@dataclass(frozen=True, slots=True)
class Comment:
    """A `#` comment, kept so that the formatter can put it back."""

    text: str
    span: Span


# --- file header --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionStmt:
    version: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class MappingStmt:
    """`mapping NAME for PRODUCT` (base) or `mapping NAME extends "FILE"` (override)."""

    name: Name
    product: Name | None
    extends: Literal | None
    span: Span


@dataclass(frozen=True, slots=True)
class TimezoneStmt:
    zone: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class Step:
    """One pipeline step: `| NAME` or `| NAME(arg, ...)`; an argument is a literal or a name."""

    name: Name
    args: tuple[Literal | Name, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class EveryStringStmt:
    """`every string | step | step`: steps applied to every string read from the ERP."""

    steps: tuple[Step, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class LookupEntry:
    key: Literal
    value: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class LookupStmt:
    name: Name
    entries: tuple[LookupEntry, ...]
    span: Span


# --- checks -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchesCheck:
    """`check matches "REGEX"`."""

    pattern: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class NamedCheck:
    """`check ean13`: a validator from the compiler's registry."""

    name: Name
    span: Span


@dataclass(frozen=True, slots=True)
class CompareCheck:
    """`check >= 0` and friends."""

    op: Lit[">=", ">", "<=", "<"]
    bound: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class RangeCheck:
    """`check N..M`, inclusive."""

    low: Literal
    high: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class LengthCheck:
    """`check length N..M`, `check length <= M`, `check length >= N`."""

    low: Literal | None
    high: Literal | None
    span: Span


@dataclass(frozen=True, slots=True)
class InCheck:
    """`check in ["A", "B"]`."""

    values: tuple[Literal, ...]
    span: Span


Check = MatchesCheck | NamedCheck | CompareCheck | RangeCheck | LengthCheck | InCheck


# --- expressions (version 2) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """A declared column used in an expression: `f_peso`, or `line.f_bodega` inside `each`."""

    name: Name
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    """`left OP right`; `op` is the operator as written (`+`, `==`, `and`, ...)."""

    op: str
    op_span: Span
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    """`not x` or `-x`."""

    op: str
    op_span: Span
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Option:
    """A named option of a call, `gap=shift_forward`: both sides are words, never values."""

    name: Name
    value: Name
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """`NAME(arg, ...)`: one of the language's functions; options come after the arguments."""

    function: Name
    args: tuple[Expr, ...]
    options: tuple[Option, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Group:
    """`(expr)`, kept so that the formatter writes the parentheses the author wrote."""

    inner: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class WhenBranch:
    condition: Expr
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class When:
    """`when C then A [when C2 then B ...] [else D]`; no `else` means missing."""

    branches: tuple[WhenBranch, ...]
    otherwise: Expr | None
    span: Span


Expr = Literal | ColumnRef | Binary | Unary | Call | Group | When


@dataclass(frozen=True, slots=True)
class ColumnStmt:
    """`column NAME TYPE [<- "RAW KEY" | <- dotted.path]`: a typed source column.

    `source` is a string Literal (a raw key), a Name whose text is a dotted path,
    or None (the column's own name is the key).
    """

    name: Name
    type: Name
    source: Literal | Name | None
    span: Span


@dataclass(frozen=True, slots=True)
class RuleStmt:
    """`skip when COND` or `reject when COND because "MESSAGE"`."""

    kind: Lit["skip", "reject"]
    condition: Expr
    message: Literal | None
    span: Span


@dataclass(frozen=True, slots=True)
class EachObject:
    """One `{key: expr, ...}` of `each line in {...}, {...}`."""

    pairs: tuple[tuple[Name, Expr], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class EachStmt:
    """`each VAR in COLUMN` (an array of objects) or `each VAR in {...}, {...}`."""

    var: Name
    array: Name | None
    objects: tuple[EachObject, ...]
    span: Span


# --- fields -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldStmt:
    """A `field` line, or an `override` line (kind="override") in an extends file.

    In a `field` line `type` is always set; in an `override` line every clause
    is optional and `None` / empty means "as in the base". `steps` and `checks`
    are `None` when the clause kind was not written at all, and a tuple
    (possibly empty) when it was. A source or target `Name` holds its text as
    written: a quoted key or a dotted path (dsl/paths.py splits it).
    `target_as` is the word after `-> TARGET as` (`number`, `string`);
    `on_missing` the word of `on missing` (`omit`, `null`); both version 2.
    """

    kind: Lit["field", "override"]
    name: Name
    type: Name | None
    required: bool | None
    sources: tuple[Name, ...]
    constant: Literal | None
    target: Name | None
    steps: tuple[Step, ...] | None
    default: Literal | None
    checks: tuple[Check, ...] | None
    policy: Name | None
    span: Span
    target_as: Name | None = None
    on_missing: Name | None = None
    expression: Expr | None = None


@dataclass(frozen=True, slots=True)
class RemoveStmt:
    name: Name
    span: Span


@dataclass(frozen=True, slots=True)
class Example:
    """`example "NAME" { in {...} expect canonical {...} expect product {...} expect reject f, g }`.

    `expect product contains {...}` (a part of the product record) and
    `expect warning f, g` (the fields that warned) are the optional assertions
    added later; they default to not written. `expect skip` (its span) and
    `expect products [...]` (one-to-many) belong to version 2, and so does a
    bare `expect reject` (rejected by a `reject when` rule; `expect_reject` is
    then empty and `expect_reject_span` says where the line is).
    """

    name: Literal
    input: JsonValue
    expect_canonical: JsonValue | None
    expect_product: JsonValue | None
    expect_reject: tuple[Name, ...] | None
    span: Span
    expect_product_contains: JsonValue | None = None
    expect_warning: tuple[Name, ...] | None = None
    expect_skip: Span | None = None
    expect_products: JsonValue | None = None
    expect_reject_span: Span | None = None


Statement = (
    VersionStmt
    | MappingStmt
    | TimezoneStmt
    | EveryStringStmt
    | LookupStmt
    | FieldStmt
    | RemoveStmt
    | Example
    | ColumnStmt
    | RuleStmt
    | EachStmt
)


@dataclass(frozen=True, slots=True)
class MapFile:
    """A whole parsed `.map` file, statements in source order."""

    path: str
    source: str
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...]
