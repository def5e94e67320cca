"""Literals of a `.map` file as canonical values, and checks run on them at compile time.

Defaults and constants are converted and checked once, here, with the same
rules (`compiler.prelude`) that compiled modules apply to ERP values, so a
default that a field would refuse is a compile error, not a surprise.
"""

from __future__ import annotations

import json
from datetime import tzinfo
from decimal import Decimal

from compiler import ir, prelude
from compiler.names import VALIDATORS

# The longest value a `check matches` regex reads when the field states no maximum length.
DEFAULT_MAX_LENGTH = 4096


class LiteralTypeError(ValueError):
    """A literal that is not a value of the field's type; args[0] says why."""


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    return "a decimal number"


def canonical_literal(
    value: object, type_name: ir.TypeName, zone: tzinfo | None
) -> ir.CanonicalValue:
    """A literal as the canonical value of `type_name`; LiteralTypeError when it is not one."""
    expected = {
        "string": "a string",
        "int": "an integer",
        "decimal": "a number",
        "bool": "true or false",
        "date": 'a "YYYY-MM-DD" string',
        "datetime": 'a "YYYY-MM-DD HH:MM:SS" string',
    }[type_name]
    article = "an" if type_name == "int" else "a"
    wrong = LiteralTypeError(
        f"is {_describe(value)}, but {article} {type_name} field needs {expected}"
    )
    is_bool = value is True or value is False
    if type_name == "string":
        if not isinstance(value, str):
            raise wrong
        return value
    if type_name == "int":
        if is_bool or not isinstance(value, int):
            raise wrong
        return value
    if type_name == "decimal":
        if is_bool or not isinstance(value, int | Decimal):
            raise wrong
        return prelude._decimal_text(Decimal(value))
    if type_name == "bool":
        if not is_bool:
            raise wrong
        return bool(value)
    if not isinstance(value, str):
        raise wrong
    try:
        if type_name == "date":
            return prelude._to_date(value)
        if zone is None:
            raise LiteralTypeError("cannot be read without a valid timezone")
        return prelude._to_datetime(value, zone)
    except prelude._Invalid as exc:
        raise LiteralTypeError(str(exc.args[0])) from None


def _quoted(value: str | int) -> str:
    """A value in a reason as the language writes it: "text" in JSON quotes, numbers plain."""
    return json.dumps(value, ensure_ascii=False)


def check_reason(check: ir.Check) -> str:
    """The reason an issue gives when this check fails (one short sentence)."""
    if isinstance(check, ir.MatchesCheck):
        return f"does not match {_quoted(check.pattern)}"
    if isinstance(check, ir.ValidatorCheck):
        return VALIDATORS[check.name][1]
    if isinstance(check, ir.CompareCheck):
        return f"must be {check.op} {check.bound}"
    if isinstance(check, ir.RangeCheck):
        return f"must be between {check.low} and {check.high}"
    if isinstance(check, ir.LengthCheck) and check.default_cap:
        return (
            f"is longer than {check.high} characters "
            "(the limit when a field with `check matches` states no maximum length)"
        )
    if isinstance(check, ir.LengthCheck):
        if check.low is not None and check.high is not None:
            return f"must be {check.low} to {check.high} characters long"
        if check.low is not None:
            return f"must be at least {check.low} characters long"
        return f"must be at most {check.high} characters long"
    shown = ", ".join(_quoted(value) for value in check.values)
    return f"must be one of {shown}"


def in_run_order(checks: tuple[ir.Check, ...]) -> tuple[ir.Check, ...]:
    """The checks as they run: with a regex among them, length checks go first, and a
    default cap comes first when none states a maximum, so no regex reads a value longer
    than the field allows (it is rejected, never cut short)."""
    if not any(isinstance(check, ir.MatchesCheck) for check in checks):
        return checks
    lengths = tuple(check for check in checks if isinstance(check, ir.LengthCheck))
    others = tuple(check for check in checks if not isinstance(check, ir.LengthCheck))
    if not any(check.high is not None for check in lengths):
        lengths = (ir.LengthCheck(None, DEFAULT_MAX_LENGTH, default_cap=True), *lengths)
    return lengths + others


def failed_check(check: ir.Check, value: ir.CanonicalValue, type_name: ir.TypeName) -> str | None:
    """Run one check on a canonical value: the reason when it fails, None when it passes."""
    number: int | Decimal | None = None
    if type_name == "decimal" and isinstance(value, str):
        number = Decimal(value)
    elif type_name == "int" and isinstance(value, int):
        number = value
    passed: bool
    if isinstance(check, ir.MatchesCheck):
        passed = isinstance(value, str) and prelude._full_match(
            prelude._regex(check.pattern), value
        )
    elif isinstance(check, ir.ValidatorCheck):
        validator = prelude._ean13 if check.name == "ean13" else prelude._gtin
        passed = isinstance(value, str) and validator(value)
    elif isinstance(check, ir.CompareCheck):
        passed = (
            number is not None
            and {
                ">=": number >= check.bound,
                ">": number > check.bound,
                "<=": number <= check.bound,
                "<": number < check.bound,
            }[check.op]
        )
    elif isinstance(check, ir.RangeCheck):
        passed = number is not None and check.low <= number <= check.high
    elif isinstance(check, ir.LengthCheck):
        size = len(value) if isinstance(value, str) else -1
        passed = size >= 0 and (check.low is None or size >= check.low)
        passed = passed and (check.high is None or size <= check.high)
    else:
        passed = value in check.values and not (value is True or value is False)
    return None if passed else check_reason(check)
