"""Putting a `field`/`override` line or an `example` block together from its parts.

The grammar lets a field's clauses and an example's lines come in any order,
so "at most one source, target, default and policy" and "an example has one
`in` record" are checked here, where each part's span is still known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal as Lit

from dsl.ast import (
    Check,
    Example,
    Expr,
    FieldStmt,
    JsonValue,
    Literal,
    Name,
    Span,
    Step,
)
from dsl.diagnostics import Diagnostic
from dsl.type_names import TYPE_NAMES

# --- the parts of a field line -------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceClause:
    """`<- f_a, f_b`."""

    names: tuple[Name, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ConstantClause:
    """`= LITERAL`."""

    value: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class ExpressionClause:
    """`= EXPRESSION` (version 2): a value computed from columns; a bare literal is a constant."""

    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class TargetClause:
    """`-> path.to.target`, optionally `as number` / `as string`."""

    path: Name
    span: Span
    as_: Name | None = None


@dataclass(frozen=True, slots=True)
class MissingClause:
    """`on missing omit` / `on missing null`."""

    choice: Name
    span: Span


@dataclass(frozen=True, slots=True)
class DefaultClause:
    """`default LITERAL`."""

    value: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class CheckClause:
    """`check CHECK`."""

    check: Check
    span: Span


@dataclass(frozen=True, slots=True)
class PolicyClause:
    """`on invalid POLICY`."""

    policy: Name
    span: Span


FieldClause = (
    SourceClause
    | ConstantClause
    | ExpressionClause
    | TargetClause
    | Step
    | DefaultClause
    | CheckClause
    | PolicyClause
    | MissingClause
)


# --- the lines of an example block ---------------------------------------------


@dataclass(frozen=True, slots=True)
class ExampleLine:
    """`in JSON`, `expect canonical JSON`, `expect product JSON` or `expect product contains JSON`."""

    kind: Lit["in", "canonical", "product", "product contains", "products"]
    value: JsonValue
    span: Span


@dataclass(frozen=True, slots=True)
class FieldsLine:
    """`expect reject f, g`, `expect warning f, g` or `expect skip` (no fields)."""

    kind: Lit["reject", "warning", "skip"]
    fields: tuple[Name, ...]
    span: Span


def _where(span: Span, line: int) -> str:
    """`column 12` on the same line, `line 7` otherwise: where the first of two clauses is."""
    return f"column {span.column}" if span.line == line else f"line {span.line}"


def _end_of_line(span: Span) -> Span:
    """A one-character span just after the statement: where a missing clause belongs."""
    return Span(span.end_line, span.end_column, span.end_line, span.end_column + 1)


def assemble_field(
    path: str,
    kind: Lit["field", "override"],
    name: Name,
    type_: Name | None,
    required: bool | None,
    required_span: Span | None,
    clauses: Sequence[FieldClause],
    span: Span,
) -> tuple[FieldStmt, list[Diagnostic]]:
    """Build a FieldStmt; report single-valued clauses given twice and missing type or source."""
    problems: list[Diagnostic] = []
    first: dict[str, Span] = {}
    sources: tuple[Name, ...] = ()
    constant: Literal | None = None
    expression: Expr | None = None
    target: Name | None = None
    target_as: Name | None = None
    on_missing: Name | None = None
    default: Literal | None = None
    policy: Name | None = None
    steps: list[Step] | None = None
    checks: list[Check] | None = None
    duplicate_messages = {
        "source": (
            "already has a source (`<- ...` or `= ...`) at {where}",
            "a field reads one source; to try several ERP fields in turn write `<- f_a, f_b`",
        ),
        "target": ("already has a target (`-> ...`) at {where}", "a field goes to one target"),
        "default": ("already has a `default` at {where}", "a field has one default"),
        "policy": (
            "already has an `on invalid` policy at {where}",
            "a field has one policy: `reject`, `drop` or `warn`",
        ),
        "missing": (
            "already has an `on missing` choice at {where}",
            "a missing value is either left out (`omit`) or written as `null`",
        ),
    }

    def claim(slot: str, clause_span: Span) -> bool:
        if slot in first:
            message, hint = duplicate_messages[slot]
            where = _where(first[slot], clause_span.line)
            problems.append(
                Diagnostic(
                    path,
                    clause_span,
                    f"`{name.text}` {message.format(where=where)}",
                    hint=hint,
                )
            )
            return False
        first[slot] = clause_span
        return True

    for clause in clauses:
        if isinstance(clause, SourceClause):
            if claim("source", clause.span):
                sources = clause.names
        elif isinstance(clause, ConstantClause):
            if claim("source", clause.span):
                constant = clause.value
        elif isinstance(clause, ExpressionClause):
            if claim("source", clause.span):
                expression = clause.value
        elif isinstance(clause, TargetClause):
            if claim("target", clause.span):
                target, target_as = clause.path, clause.as_
        elif isinstance(clause, MissingClause):
            if claim("missing", clause.span):
                on_missing = clause.choice
        elif isinstance(clause, DefaultClause):
            if claim("default", clause.span):
                default = clause.value
        elif isinstance(clause, PolicyClause):
            if claim("policy", clause.span):
                policy = clause.policy
        elif isinstance(clause, CheckClause):
            checks = [*(checks or []), clause.check]
        else:
            steps = [*(steps or []), clause]

    after_name = required_span or (clauses[0].span if clauses else _end_of_line(span))
    if kind == "field" and type_ is None:
        problems.append(
            Diagnostic(
                path,
                after_name,
                f"expected the field's type after `{name.text}`",
                hint="a type is one of " + ", ".join(f"`{t}`" for t in TYPE_NAMES),
            )
        )
    if kind == "field" and "source" not in first and (type_ is not None or clauses):
        problems.append(
            Diagnostic(
                path,
                clauses[0].span if clauses else _end_of_line(span),
                "expected `<- SOURCE` or `= VALUE` after the field's type",
                hint='read an ERP field with `<- f_codigo`, or set a constant with `= "siesa"`',
            )
        )
    if kind == "override" and type_ is None and required is None and not clauses:
        problems.append(
            Diagnostic(
                path,
                _end_of_line(span),
                f"expected at least one clause to change after `override {name.text}`",
                hint="name what changes, e.g. `override ean <- f_ean_13`",
            )
        )
    node = FieldStmt(
        kind=kind,
        name=name,
        type=type_,
        required=required,
        sources=sources,
        constant=constant,
        target=target,
        steps=None if steps is None else tuple(steps),
        default=default,
        checks=None if checks is None else tuple(checks),
        policy=policy,
        span=span,
        target_as=target_as,
        on_missing=on_missing,
        expression=expression,
    )
    return node, problems


def assemble_example(
    path: str,
    name: Literal,
    lines: Sequence[ExampleLine | FieldsLine],
    header: Span,
    span: Span,
) -> tuple[Example, list[Diagnostic]]:
    """Build an Example; report a missing `in` record, no expectation, or a line given twice."""
    problems: list[Diagnostic] = []
    seen: dict[str, Span] = {}
    found: dict[str, JsonValue] = {}
    named: dict[str, tuple[Name, ...]] = {}
    skip: Span | None = None
    reject_span: Span | None = None
    for line in lines:
        slot = line.kind
        words = "`in`" if slot == "in" else f"`expect {slot}`"
        if slot in seen:
            problems.append(
                Diagnostic(
                    path,
                    line.span,
                    f"this example already has {words} at line {seen[slot].line}",
                    hint="an example holds one record in and one of each `expect`",
                )
            )
            continue
        seen[slot] = line.span
        if isinstance(line, FieldsLine) and line.kind == "skip":
            skip = line.span
        elif isinstance(line, FieldsLine):
            named[line.kind] = line.fields
            if line.kind == "reject":
                reject_span = line.span
        else:
            found[line.kind] = line.value
    title = name.value if isinstance(name.value, str) else ""
    if "in" not in found:
        problems.append(
            Diagnostic(
                path,
                header,
                f"the example `{title}` has no `in {{...}}` record",
                hint='add a line such as `in {"f_codigo": "P1"}`: the Siesa record the example feeds in',
            )
        )
    if not seen.keys() - {"in"}:
        problems.append(
            Diagnostic(
                path,
                header,
                f"the example `{title}` expects nothing",
                hint="add `expect canonical {...}`, `expect product {...}` or `expect reject FIELD`",
            )
        )
    node = Example(
        name=name,
        input=found.get("in") or JsonValue({}, header),
        expect_canonical=found.get("canonical"),
        expect_product=found.get("product"),
        expect_reject=named.get("reject"),
        span=span,
        expect_product_contains=found.get("product contains"),
        expect_warning=named.get("warning"),
        expect_skip=skip,
        expect_products=found.get("products"),
        expect_reject_span=reject_span,
    )
    return node, problems
