"""The checked, resolved form of a mapping: what codegen and the example runner consume.

Everything here is already valid: names are resolved, `extends` is merged,
literals are converted to canonical values, regexes compile, shapes parse.
Nothing refers back to the AST except the line numbers kept for issues and
the line map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from compiler.expr_ir import Column, Expr
from dsl.ast import Span
from dsl.diagnostics import Findings
from dsl.type_names import TypeName

Policy = Literal["reject", "drop", "warn"]
CanonicalValue = str | int | bool | None


# --- steps ----------------------------------------------------------------------


SimpleName = Literal["trim", "upper", "lower", "empty_to_missing", "strip_zeros"]


@dataclass(frozen=True, slots=True)
class SimpleStep:
    """trim, upper, lower, empty_to_missing, strip_zeros: no arguments."""

    name: SimpleName


@dataclass(frozen=True, slots=True)
class PadStep:
    width: int
    char: str


@dataclass(frozen=True, slots=True)
class ReplaceStep:
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class LookupStep:
    """A code -> value table; `keep` keeps unknown codes instead of refusing them."""

    table: str
    entries: tuple[tuple[str, str], ...]
    keep: bool


@dataclass(frozen=True, slots=True)
class FormatStep:
    """`format(IN, OUT)`: `pattern` is the regex of IN, `output` names groups (int) and text."""

    shape: str
    pattern: str
    output: tuple[int | str, ...]


Step = SimpleStep | PadStep | ReplaceStep | LookupStep | FormatStep


# --- checks ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchesCheck:
    pattern: str


@dataclass(frozen=True, slots=True)
class ValidatorCheck:
    name: str


@dataclass(frozen=True, slots=True)
class CompareCheck:
    op: Literal[">=", ">", "<=", "<"]
    bound: int | Decimal


@dataclass(frozen=True, slots=True)
class RangeCheck:
    low: int | Decimal
    high: int | Decimal


@dataclass(frozen=True, slots=True)
class LengthCheck:
    """`check length`; `default_cap` marks the cap a regex check gets when no maximum is stated."""

    low: int | None
    high: int | None
    default_cap: bool = False


@dataclass(frozen=True, slots=True)
class InCheck:
    values: tuple[str | int, ...]


Check = MatchesCheck | ValidatorCheck | CompareCheck | RangeCheck | LengthCheck | InCheck


# --- fields and mappings ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One canonical field, after `extends`/`override` are applied.

    `constant` holds the canonical value when `is_constant`; `default` the
    canonical value used when the value is missing, when `has_default`.
    `file` and `line` are where the field was last defined or overridden.
    `sources` are the sources as written (`f_a`, `"F A"`, `cab.codigo`),
    `source_paths` the keys each follows from the record; `number_out` says how
    a number is written to the product (`as`), `on_missing` whether a missing
    value writes null or leaves the key out (None: top-level null, nested out).
    """

    canonical: str
    type: TypeName
    required: bool
    sources: tuple[str, ...]
    is_constant: bool
    constant: CanonicalValue
    target: tuple[str, ...] | None
    steps: tuple[Step, ...]
    has_default: bool
    default: CanonicalValue
    checks: tuple[Check, ...]
    policy: Policy
    file: str
    line: int
    checks_at: tuple[str, int] | None = None
    """The file and line of the field's checks when another statement wrote them (inherited)."""
    source_paths: tuple[tuple[str, ...], ...] = ()
    number_out: Literal["number", "string"] | None = None
    on_missing: Literal["omit", "null"] | None = None
    expression: Expr | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """`skip when COND` or `reject when COND because "MESSAGE"`; `text` is `KIND when COND` as
    `fmt` writes it (a skip issue's reason), `file` and `line` where the rule is written."""

    kind: Literal["skip", "reject"]
    condition: Expr
    message: str | None
    text: str
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Each:
    """`each VAR in ARRAY` (`array`: the array's path in the record, one part for a plain key)
    or `each VAR in {...}, {...}` (`objects`: per line, each key's expression, same key order)."""

    var: str
    array: tuple[str, ...] | None
    objects: tuple[tuple[tuple[str, Expr], ...], ...]
    line: int


@dataclass(frozen=True, slots=True)
class Example:
    """An `example` block; expectations are JSON values, `None` when not written.

    `expect_product_contains` is a part of the product record (`expect product
    contains`); `expect_warning` the fields that must warn (`expect warning`).
    """

    name: str
    line: int
    input: object
    expect_canonical: object | None
    expect_product: object | None
    expect_reject: tuple[str, ...] | None
    expect_product_contains: object | None = None
    expect_warning: tuple[str, ...] | None = None
    expect_skip: bool = False
    expect_products: object | None = None


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A `.map` file a mapping was built from: its path (relative to the root) and hash."""

    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Mapping:
    """A whole mapping, ready for codegen. `source` is the file itself, `bases` what it extends."""

    name: str
    name_span: Span
    product_type: str
    version: int
    source: SourceFile
    bases: tuple[SourceFile, ...]
    timezone: str
    every_string: tuple[Step, ...]
    fields: tuple[Field, ...]
    examples: tuple[Example, ...]
    warnings: Findings = field(default_factory=Findings)
    columns: tuple[Column, ...] = ()
    rules: tuple[Rule, ...] = ()
    each: Each | None = None

    @property
    def id_field(self) -> Field:
        """The `id` field (checks guarantee there is exactly one)."""
        return next(field for field in self.fields if field.canonical == "id")
