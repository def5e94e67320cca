"""What expressions may read (version 2): declared columns, `each` lines, and the record rules.

Columns come from every file of an `extends` chain, base first (a later file
may declare a column again, with another type or source). `column line.KEY`
declares a key of each element of `each line in ARRAY`; `each line in {...}`
makes its objects' keys readable as `line.KEY`. Record rules read the
record's own columns only: they run before any line is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler import expr_ir as x
from compiler import ir
from compiler.expressions import Typer, unify
from compiler.names import TYPE_ALIASES, known_list
from compiler.problems import Problems
from dsl import ast
from dsl.formatter import expr_text
from dsl.suggest import did_you_mean
from dsl.type_names import TYPE_NAMES


@dataclass
class Scope:
    """Columns by name, and the type of every name an expression may use."""

    columns: dict[str, x.Column] = field(default_factory=dict)
    record_types: dict[str, x.ExprType] = field(default_factory=dict)
    line_types: dict[str, x.ExprType] = field(default_factory=dict)
    each: ir.Each | None = None

    @property
    def field_types(self) -> dict[str, x.ExprType]:
        """What a field's expression may read: the record's columns and the line's keys."""
        return {**self.record_types, **self.line_types}


def _each_var(eaches: list[tuple[ast.EachStmt, str]]) -> str | None:
    return eaches[0][0].var.text if eaches else None


def _column(
    stmt: ast.ColumnStmt, path: str, var: str | None, array_each: bool, problems: Problems
) -> x.Column | None:
    name = stmt.name.text
    type_name = stmt.type.text
    ok = True
    if type_name not in TYPE_NAMES:
        hint = (
            did_you_mean(type_name, TYPE_NAMES, TYPE_ALIASES) or f"types: {known_list(TYPE_NAMES)}"
        )
        problems.error(path, stmt.type.span, f"unknown type `{type_name}`", hint)
        ok = False
    parts = name.split(".")
    element = len(parts) > 1
    if element and (len(parts) != 2 or parts[0] != var or not array_each):
        hint = (
            f"`column {var}.KEY TYPE` declares a key of each element of `each {var} in ARRAY`"
            if var is not None and array_each
            else "a key of an array's elements is declared `column line.KEY TYPE` with `each line in ARRAY`"
        )
        problems.error(path, stmt.name.span, f"`{name}` is not a column name", hint)
        ok = False
    if not ok:
        return None
    source = stmt.source
    key = parts[-1]
    dotted: tuple[str, ...] | None = None
    if isinstance(source, ast.Literal) and isinstance(source.value, str):
        key = source.value
    elif isinstance(source, ast.Name):
        dotted = tuple(source.text.split("."))
        if len(dotted) == 1:
            key, dotted = dotted[0], None
    return x.Column(name, type_name, key, dotted, element, stmt.span.line)  # type: ignore[arg-type]


def resolve_scope(
    columns: list[tuple[ast.ColumnStmt, str]],
    eaches: list[tuple[ast.EachStmt, str]],
    problems: Problems,
) -> Scope:
    """The columns and `each` of a chain of files, every problem reported."""
    scope = Scope()
    for extra, path in eaches[1:]:
        first = eaches[0][0]
        problems.error(
            path,
            extra.span,
            f"a mapping has one `each`; the first is on line {first.span.line}",
        )
    var = _each_var(eaches)
    array_each = bool(eaches) and eaches[0][0].array is not None
    seen: dict[tuple[str, str], int] = {}
    for stmt, path in columns:
        name = stmt.name.text
        if (path, name) in seen:
            problems.error(
                path,
                stmt.name.span,
                f"column `{name}` is declared twice",
                f"first declared on line {seen[(path, name)]}",
            )
            continue
        seen[(path, name)] = stmt.span.line
        column = _column(stmt, path, var, array_each, problems)
        if column is None:
            continue
        scope.columns[name] = column
        target = scope.line_types if column.element else scope.record_types
        target[name] = column.type
    if eaches:
        scope.each = _each(eaches[0][0], eaches[0][1], scope, problems)
    return scope


def _each(stmt: ast.EachStmt, path: str, scope: Scope, problems: Problems) -> ir.Each | None:
    var = stmt.var.text
    if stmt.array is not None:
        return ir.Each(var, tuple(stmt.array.text.split(".")), (), stmt.span.line)
    typer = Typer(scope.record_types, path, problems)
    first_keys = [key.text for key, _ in stmt.objects[0].pairs] if stmt.objects else []
    types: dict[str, x.ExprType] = {}
    objects: list[tuple[tuple[str, x.Expr], ...]] = []
    ok = True
    for item in stmt.objects:
        keys = [key.text for key, _ in item.pairs]
        if len(set(keys)) != len(keys) or sorted(keys) != sorted(first_keys):
            problems.error(
                path,
                item.span,
                "every object of `each` has the same keys, once each",
                "the first object has " + (", ".join(f"`{k}`" for k in first_keys) or "none"),
            )
            ok = False
            continue
        typed: dict[str, x.Expr] = {}
        for key, value in item.pairs:
            expr = typer.check(value)
            if expr is None:
                ok = False
                continue
            shared = unify(types.get(key.text, "null"), expr.type)
            if shared is None:
                problems.error(
                    path,
                    value.span,
                    f"`{key.text}` is {expr.type} here but {types[key.text]} in an earlier object",
                    "each key has one type in every object",
                )
                ok = False
                continue
            types[key.text] = shared
            typed[key.text] = expr
        objects.append(tuple((name, typed[name]) for name in first_keys if name in typed))
    if not ok:
        return None
    for name in first_keys:
        scope.line_types[f"{var}.{name}"] = types[name]
    return ir.Each(var, None, tuple(objects), stmt.span.line)


def resolve_rules(
    rules: list[tuple[ast.RuleStmt, str, str]], scope: Scope, problems: Problems
) -> tuple[ir.Rule, ...]:
    """`skip when` and `reject when` rules, in document order (base file first)."""
    resolved: list[ir.Rule] = []
    for stmt, path, recorded in rules:
        typer = Typer(scope.record_types, path, problems)
        condition = typer.condition(stmt.condition, f"the condition of `{stmt.kind} when`")
        message = None
        if stmt.message is not None:
            message = stmt.message.value if isinstance(stmt.message.value, str) else ""
        text = f"{stmt.kind} when {expr_text(stmt.condition)}"
        if condition is not None:
            resolved.append(ir.Rule(stmt.kind, condition, message, text, recorded, stmt.span.line))
    return tuple(resolved)
