"""Warnings: what compiles but is most likely a mistake (errors under `siesa map check --strict`).

Each rule is a small pure function of checked parts of a mapping that returns
diagnostics of severity "warning" (or "note", which only informs and never
fails a check, `--strict` included). They run only on a mapping without errors,
so they may rely on what the checks guarantee (known types, resolved lookups).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import tzinfo
from decimal import InvalidOperation

from compiler import ir, prelude
from dsl import ast
from dsl.diagnostics import Diagnostic
from dsl.formatter import check_text, literal_text
from dsl.paths import split_path
from dsl.suggest import did_you_mean

Converter = Callable[[str], object]


def _warning(path: str, span: ast.Span, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(path, span, message, "warning", hint)


def used_lookups(mapping_steps: Iterable[tuple[ir.Step, ...]]) -> set[str]:
    """The lookup tables that some step sequence reads."""
    return {
        step.table for steps in mapping_steps for step in steps if isinstance(step, ir.LookupStep)
    }


def unused_lookups(
    path: str, lookups: Iterable[ast.LookupStmt], used: Collection[str]
) -> list[Diagnostic]:
    """A lookup table of this file that no field (nor `every string`) reads."""
    return [
        _warning(
            path,
            stmt.name.span,
            f"lookup `{stmt.name.text}` is never used",
            f"read it with `| lookup({stmt.name.text})`, or delete it",
        )
        for stmt in lookups
        if stmt.name.text not in used
    ]


def required_with_default(path: str, name: str, span: ast.Span) -> Diagnostic:
    """`required` with `default`: the default fills every missing value, so nothing is rejected."""
    return _warning(
        path,
        span,
        f"`{name}` is required and has a default: a missing value takes the default, "
        "so `required` never rejects a record",
        "drop `default` to reject records without a value, or make the field `optional`",
    )


def converter(type_name: ir.TypeName, zone: tzinfo | None) -> Converter | None:
    """How a compiled module turns a step's text into a value of `type_name` (None for strings)."""
    if type_name == "int":
        return prelude._to_int
    if type_name == "decimal":
        return prelude._to_decimal
    if type_name == "bool":
        return prelude._to_bool
    if type_name == "date":
        return prelude._to_date
    if type_name == "datetime" and zone is not None:
        return lambda text: prelude._to_datetime(text, zone)
    return None


def lookup_values_of_wrong_type(
    path: str, lookup: ast.LookupStmt, field: ir.Field, convert: Converter
) -> list[Diagnostic]:
    """Values of a lookup read last by `field` that the field's type would refuse at run time."""
    found: list[Diagnostic] = []
    for entry in lookup.entries:
        value = entry.value.value
        if not isinstance(value, str):
            continue
        try:
            convert(value)
        except (prelude._Invalid, InvalidOperation, ValueError) as exc:
            reason = exc.args[0] if isinstance(exc, prelude._Invalid) else f"is not {field.type}"
            found.append(
                _warning(
                    path,
                    entry.value.span,
                    f"lookup `{lookup.name.text}` gives {literal_text(value)} to the "
                    f"{field.type} field `{field.canonical}`, which {reason}",
                    "every record with this code would fail the field's type",
                )
            )
    return found


def _has_column(record: object, column: str) -> bool:
    """Whether the record holds the source written `column` (a key, `"F A"` or `cab.codigo`)."""
    for key in split_path(column) or (column,):
        if not isinstance(record, dict) or key not in record:
            return False
        record = record[key]
    return True


def columns_in_no_example(
    path: str, sources: Iterable[ast.Name], examples: Collection[ir.Example]
) -> list[Diagnostic]:
    """Source columns that no example's `in` record holds: how they are read is untested."""
    hint = (
        "add the column to an example's `in` record, so that `siesa map test` covers it"
        if examples
        else "this mapping has no examples: add one that holds the column"
    )
    return [
        _warning(
            path,
            source.span,
            f"source column `{source.text}` appears in no example's `in` record",
            hint,
        )
        for source in sources
        if not any(_has_column(example.input, source.text) for example in examples)
    ]


def unknown_product_type(path: str, product: ast.Name, known: Collection[str]) -> Diagnostic | None:
    """`mapping x for tms` when no adapter is registered for `tms`."""
    if product.text in known:
        return None
    listed = ", ".join(sorted(known)) or "none"
    hint = did_you_mean(product.text, sorted(known))
    return _warning(
        path,
        product.span,
        f"no adapter for product type `{product.text}`: the known product types are {listed}",
        hint or "a mapping for it compiles, but no sync can load its records",
    )


def replaced_checks(
    path: str, name: str, override: ast.FieldStmt, base: ast.FieldStmt, base_path: str
) -> Diagnostic:
    """A note: `override X check ...` replaces the checks X inherited; it does not add to them."""
    assert override.checks and base.checks
    shown = " ".join(f"`check {check_text(check)}`" for check in base.checks)
    return Diagnostic(
        path,
        override.checks[0].span,
        f"this replaces the checks `{name}` inherits from {base_path}:{base.span.line} ({shown});"
        " they no longer run",
        "note",
        "repeat in this override the inherited checks that must still run",
    )
