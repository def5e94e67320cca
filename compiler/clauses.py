"""Checking one clause of a field: its steps and its checks, against the field's type.

Each function returns the IR of a valid clause, or None after recording every
problem with it in `Problems`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from compiler import ir
from compiler.names import (
    EVERY_STRING_STEPS,
    NUMERIC_TYPES,
    STEP_SIGNATURES,
    VALIDATORS,
    known_list,
)
from compiler.problems import Problems
from compiler.regexes import regex_error
from compiler.shapes import ShapeError, parse_input, parse_output
from dsl import ast
from dsl.formatter import literal_text
from dsl.suggest import did_you_mean

MAX_PAD_WIDTH = 1000
Lookups = dict[str, tuple[tuple[str, str], ...]]


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not (value is True or value is False)


def _string_args(
    step: ast.Step, count: int, path: str, problems: Problems
) -> list[ast.Literal] | None:
    """Exactly `count` string literals, or None after reporting what is wrong."""
    name = step.name.text
    if len(step.args) != count:
        problems.error(
            path,
            step.span,
            f"`{name}` takes {count} argument(s), got {len(step.args)}",
            f"write `{STEP_SIGNATURES[name]}`",
        )
        return None
    literals: list[ast.Literal] = []
    for arg in step.args:
        if not isinstance(arg, ast.Literal) or not isinstance(arg.value, str):
            problems.error(
                path,
                arg.span,
                f"the arguments of `{name}` are strings",
                f"write `{STEP_SIGNATURES[name]}`",
            )
            return None
        literals.append(arg)
    return literals


def _report_shape(
    path: str, literal: ast.Literal, errors: list[ShapeError], problems: Problems
) -> None:
    for error in errors:
        problems.error_inside(path, literal, error.start, error.end, error.message, error.hint)


def _format_step(step: ast.Step, path: str, problems: Problems) -> ir.FormatStep | None:
    args = _string_args(step, 2, path, problems)
    if args is None:
        return None
    shape_in, shape_out = args
    assert isinstance(shape_in.value, str) and isinstance(shape_out.value, str)
    parsed = parse_input(shape_in.value)
    if isinstance(parsed, list):
        _report_shape(path, shape_in, parsed, problems)
        return None
    output = parse_output(shape_out.value, parsed.groups)
    if isinstance(output, list):
        _report_shape(path, shape_out, output, problems)
        return None
    return ir.FormatStep(shape_in.value, parsed.pattern, output)


def _pad_step(step: ast.Step, path: str, problems: Problems) -> ir.PadStep | None:
    if len(step.args) != 2:
        problems.error(
            path,
            step.span,
            f"`pad` takes 2 arguments, got {len(step.args)}",
            'write `pad(WIDTH, "C")`, e.g. `pad(6, "0")`',
        )
        return None
    width, char = step.args
    ok = True
    if (
        not isinstance(width, ast.Literal)
        or not _is_number(width.value)
        or not isinstance(width.value, int)
    ):
        problems.error(
            path, width.span, "the width of `pad` must be a whole number", 'e.g. `pad(6, "0")`'
        )
        ok = False
    elif not 0 < width.value <= MAX_PAD_WIDTH:
        problems.error(
            path, width.span, f"the width of `pad` must be between 1 and {MAX_PAD_WIDTH}"
        )
        ok = False
    if not isinstance(char, ast.Literal) or not isinstance(char.value, str) or len(char.value) != 1:
        problems.error(
            path,
            char.span,
            "the fill of `pad` must be a string of exactly one character",
            'e.g. `pad(6, "0")`',
        )
        ok = False
    if not ok:
        return None
    assert isinstance(width, ast.Literal) and isinstance(char, ast.Literal)
    assert isinstance(width.value, int) and isinstance(char.value, str)
    return ir.PadStep(width.value, char.value)


def _lookup_step(
    step: ast.Step, path: str, lookups: Lookups, problems: Problems
) -> ir.LookupStep | None:
    if len(step.args) not in (1, 2):
        problems.error(
            path,
            step.span,
            f"`lookup` takes 1 or 2 arguments, got {len(step.args)}",
            "write `lookup(TABLE)` or `lookup(TABLE, keep)`",
        )
        return None
    table = step.args[0]
    keep = False
    ok = True
    if len(step.args) == 2:
        flag = step.args[1]
        if isinstance(flag, ast.Name) and flag.text == "keep":
            keep = True
        else:
            problems.error(path, flag.span, "the second argument of `lookup` can only be `keep`")
            ok = False
    if not isinstance(table, ast.Name):
        problems.error(
            path,
            table.span,
            "the first argument of `lookup` is the name of a lookup table",
            'write `lookup(categorias)`, not `lookup("categorias")`',
        )
        return None
    if table.text not in lookups:
        hint = did_you_mean(table.text, lookups)
        if hint is None:
            hint = (
                f"tables: {known_list(sorted(lookups))}"
                if lookups
                else 'declare it with `lookup NAME { "code" -> "value" }`'
            )
        problems.error(path, table.span, f"unknown lookup table `{table.text}`", hint)
        return None
    return ir.LookupStep(table.text, lookups[table.text], keep) if ok else None


def resolve_step(
    step: ast.Step, path: str, lookups: Lookups, problems: Problems, *, every_string: bool
) -> ir.Step | None:
    """One pipeline step; in `every string` only steps that cannot fail are allowed."""
    name = step.name.text
    if name not in STEP_SIGNATURES:
        problems.error(
            path,
            step.name.span,
            f"unknown step `{name}`",
            did_you_mean(name, STEP_SIGNATURES) or f"steps: {known_list(STEP_SIGNATURES)}",
        )
        return None
    if every_string and name not in EVERY_STRING_STEPS:
        problems.error(
            path,
            step.name.span,
            f"`{name}` cannot be used in `every string`",
            "it can fail on a value; put it on the fields that need it",
        )
        return None
    if name in ("trim", "upper", "lower", "empty_to_missing", "strip_zeros"):
        if step.args:
            problems.error(path, step.span, f"`{name}` takes no arguments")
            return None
        return ir.SimpleStep(cast(ir.SimpleName, name))
    if name == "pad":
        return _pad_step(step, path, problems)
    if name == "replace":
        args = _string_args(step, 2, path, problems)
        if args is None:
            return None
        old, new = (str(arg.value) for arg in args)
        if not old:
            problems.error(path, args[0].span, "`replace` needs a non-empty text to replace")
            return None
        return ir.ReplaceStep(old, new)
    if name == "lookup":
        return _lookup_step(step, path, lookups, problems)
    return _format_step(step, path, problems)


def resolve_steps(
    steps: tuple[ast.Step, ...],
    path: str,
    lookups: Lookups,
    problems: Problems,
    *,
    every_string: bool,
) -> tuple[ir.Step, ...] | None:
    """A whole pipeline, or None when any step is wrong (all of them reported)."""
    resolved = [
        resolve_step(step, path, lookups, problems, every_string=every_string) for step in steps
    ]
    if any(step is None for step in resolved):
        return None
    return tuple(step for step in resolved if step is not None)


# --- checks ------------------------------------------------------------------------


def _misfit(
    check_name: str, allowed: str, type_name: str, span: ast.Span, path: str, problems: Problems
) -> None:
    """Report a check written on a field whose type it does not apply to."""
    problems.error(
        path,
        span,
        f"`check {check_name}` does not apply to {'an' if type_name == 'int' else 'a'} {type_name} field",
        f"it applies to {allowed} fields",
    )


def _number(literal: ast.Literal, path: str, problems: Problems) -> int | Decimal | None:
    if not _is_number(literal.value):
        problems.error(path, literal.span, "expected a number here")
        return None
    assert isinstance(literal.value, int | Decimal)
    return literal.value


def _length_bound(
    literal: ast.Literal | None, path: str, problems: Problems
) -> tuple[bool, int | None]:
    if literal is None:
        return True, None
    value = literal.value
    if not _is_number(value) or not isinstance(value, int) or value < 0:
        problems.error(path, literal.span, "a length is a whole number >= 0")
        return False, None
    return True, value


def _matches(check: ast.MatchesCheck, path: str, problems: Problems) -> ir.MatchesCheck | None:
    pattern = check.pattern.value
    if not isinstance(pattern, str):
        problems.error(path, check.pattern.span, "`check matches` takes a string: the regex")
        return None
    error = regex_error(pattern)
    if error is not None and error.end is None:
        problems.error(path, check.pattern.span, error.message, error.hint)
        return None
    if error is not None:
        problems.error_inside(
            path, check.pattern, error.start, error.end, error.message, error.hint
        )
        return None
    return ir.MatchesCheck(pattern)


def resolve_check(
    check: ast.Check, type_name: str | None, path: str, problems: Problems
) -> ir.Check | None:
    """One check, if it is well formed and fits the field's type (None = type unknown)."""
    if isinstance(check, ast.MatchesCheck):
        if type_name not in (None, "string"):
            _misfit("matches", "string", type_name, check.span, path, problems)
            return None
        return _matches(check, path, problems)
    if isinstance(check, ast.NamedCheck):
        name = check.name.text
        if name not in VALIDATORS:
            hint = did_you_mean(name, VALIDATORS) or f"validators: {known_list(VALIDATORS)}"
            problems.error(path, check.name.span, f"unknown validator `{name}`", hint)
            return None
        types = VALIDATORS[name][0]
        if type_name is not None and type_name not in types:
            _misfit(name, " or ".join(sorted(types)), type_name, check.span, path, problems)
            return None
        return ir.ValidatorCheck(name)
    if isinstance(check, ast.CompareCheck | ast.RangeCheck):
        shown = check.op if isinstance(check, ast.CompareCheck) else "N..M"
        if type_name is not None and type_name not in NUMERIC_TYPES:
            _misfit(shown, "int or decimal", type_name, check.span, path, problems)
            return None
        if isinstance(check, ast.CompareCheck):
            bound = _number(check.bound, path, problems)
            return None if bound is None else ir.CompareCheck(check.op, bound)
        low = _number(check.low, path, problems)
        high = _number(check.high, path, problems)
        if low is None or high is None:
            return None
        if low > high:
            problems.error(path, check.span, f"empty range: {low} is greater than {high}")
            return None
        return ir.RangeCheck(low, high)
    if isinstance(check, ast.LengthCheck):
        if type_name not in (None, "string"):
            _misfit("length", "string", type_name, check.span, path, problems)
            return None
        ok_low, low = _length_bound(check.low, path, problems)
        ok_high, high = _length_bound(check.high, path, problems)
        if not (ok_low and ok_high):
            return None
        if low is not None and high is not None and low > high:
            problems.error(path, check.span, f"empty length range: {low} is greater than {high}")
            return None
        return ir.LengthCheck(low, high)
    return _in_check(check, type_name, path, problems)


def _in_check(
    check: ast.InCheck, type_name: str | None, path: str, problems: Problems
) -> ir.InCheck | None:
    if type_name not in (None, "string", "int"):
        _misfit("in", "string or int", type_name, check.span, path, problems)
        return None
    if not check.values:
        problems.error(path, check.span, "`check in` needs at least one value")
        return None
    values: list[str | int] = []
    ok = True
    for literal in check.values:
        value = literal.value
        fits_string = isinstance(value, str)
        fits_int = isinstance(value, int) and not (value is True or value is False)
        if (
            (type_name == "string" and not fits_string)
            or (type_name == "int" and not fits_int)
            or not (fits_string or fits_int)
        ):
            expected = {"string": "strings", "int": "integers"}.get(
                type_name or "", "strings or integers"
            )
            problems.error(path, literal.span, f"the values of `check in` must be {expected}")
            ok = False
        elif value in values:
            problems.error(path, literal.span, f"{literal_text(value)} is listed twice")
            ok = False
        else:
            assert isinstance(value, str | int)
            values.append(value)
    return ir.InCheck(tuple(values)) if ok else None
