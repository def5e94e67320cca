"""Value rules shared by the compiler and by every compiled mapping module.

Each top-level definition here is copied, as source text, into the generated
modules that need it (see `compiler.helpers`), and the compiler calls the same
functions to check defaults and constants. One implementation of the ERP's
realities (Colombian decimals, "100.0", S/N booleans, Bogota timestamps) means
a default can never be accepted by the compiler and refused at run time.

Rules for this file: the standard library and `_re2` (google-re2, a runtime
dependency: `check matches` regexes run on RE2, in time linear in the value)
only; every definition is a top-level function, class or constant whose name
starts with `_`; a definition may use another one by name (the copier follows
those uses).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

# google-re2's extension module, called directly: its `re2` wrapper costs about
# five times as much per match (it decodes match offsets we never use).
import _re2


class _Invalid(Exception):
    """A value that cannot be converted or fails a check; args[0] is the reason."""


_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_AMBIGUOUS_NUMBER = re.compile(r"[+-]?[1-9][0-9]{0,2}\.[0-9]{3}")
_GROUPED_NUMBER = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})*(?:,[0-9]+)?|[+-]?[0-9]+,[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_RE2_WHOLE = _re2.RE2.Anchor.ANCHOR_BOTH
_RE2_ANYWHERE = _re2.RE2.Anchor.UNANCHORED
_TRUE_WORDS = frozenset({"s", "si", "sí", "true", "1"})
_FALSE_WORDS = frozenset({"n", "no", "false", "0"})


def _kind(value: object) -> str:
    """How a value that is not of the expected kind is named in a reason."""
    if value is True or value is False:
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a text"
    return "a number"


def _number_text(text: str) -> str:
    """A numeric ERP text in plain notation ("1.234,50" -> "1234.50"); refuses ambiguity."""
    text = text.strip()
    if _AMBIGUOUS_NUMBER.fullmatch(text):
        raise _Invalid("is an ambiguous number: the dot may group thousands or mark decimals")
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    if _GROUPED_NUMBER.fullmatch(text):
        return text.replace(".", "").replace(",", ".")
    raise _Invalid("is not a number")


def _float_decimal(value: float) -> Decimal:
    """A JSON float as the Decimal it was written as (12.5, not 12.4999...)."""
    if not math.isfinite(value):
        raise _Invalid("is not a finite number")
    return Decimal(repr(value))


def _text(value: object) -> str:
    """A value read from the ERP as text; numbers in plain notation (12.0 -> "12")."""
    if isinstance(value, str):
        return str(value)
    if value is True or value is False or not isinstance(value, int | float | Decimal):
        raise _Invalid(f"is {_kind(value)}, not a text")
    if isinstance(value, int):
        return str(value)
    number = _float_decimal(value) if isinstance(value, float) else value
    if not number.is_finite():
        raise _Invalid("is not a finite number")
    if number == number.to_integral_value():
        return str(int(number))
    return format(number, "f")


def _to_decimal(value: object) -> Decimal:
    """A number, "1234.50" or Colombian "1.234,50" as a Decimal."""
    if isinstance(value, str):
        return Decimal(_number_text(value))
    if value is True or value is False or not isinstance(value, int | float | Decimal):
        raise _Invalid(f"is {_kind(value)}, not a decimal number")
    if isinstance(value, float):
        return _float_decimal(value)
    if isinstance(value, Decimal) and not value.is_finite():
        raise _Invalid("is not a finite number")
    return Decimal(value)


def _to_int(value: object) -> int:
    """An int, an integral float, "100", "100.0", "1.234.567" or "1.234,00" as an int."""
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 40:
            return int(text)
    elif value is True or value is False:
        raise _Invalid("is a boolean, not an integer")
    elif isinstance(value, int):
        return int(value)
    elif not isinstance(value, float | Decimal):
        raise _Invalid(f"is {_kind(value)}, not an integer")
    number = _to_decimal(value)
    if number != number.to_integral_value():
        raise _Invalid("is not a whole number")
    if number.adjusted() > 40:
        raise _Invalid("is too large a number")
    return int(number)


def _decimal_text(value: Decimal) -> str:
    """The canonical form of a decimal: plain notation, digits as given ("1234.50")."""
    return format(value, "f")


def _to_bool(value: object) -> bool:
    """true/false, "S"/"N", "si"/"no", "true"/"false", "1"/"0" (any case), 1/0."""
    if value is True or value is False:
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise _Invalid("is not a yes/no value (S/N, si/no, true/false, 1/0)")
    if isinstance(value, int | float | Decimal) and value in (0, 1):
        return value == 1
    raise _Invalid(f"is {_kind(value)}, not a yes/no value")


def _to_date(value: object) -> str:
    """A "YYYY-MM-DD" date, checked to exist, in ISO 8601."""
    if not isinstance(value, str):
        raise _Invalid(f"is {_kind(value)}, not a date")
    text = value.strip()
    if _DATE.fullmatch(text) is None:
        raise _Invalid("is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _Invalid("is not a date of the calendar") from None


def _zone(name: str) -> tzinfo:
    """The ERP's time zone, loaded once when the module is imported."""
    return ZoneInfo(name)


def _datetime_value(value: object) -> datetime:
    """An ERP timestamp as a datetime: local (no zone) unless written with an offset."""
    if not isinstance(value, str):
        raise _Invalid(f"is {_kind(value)}, not a date-time")
    text = value.strip()
    if _DATETIME.fullmatch(text) is None:
        raise _Invalid("is not a date-time (YYYY-MM-DD HH:MM:SS)")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid("is not a date-time of the calendar") from None


def _to_datetime(value: object, zone: tzinfo) -> str:
    """A local ERP timestamp (or one with an offset) in ISO 8601 with its offset."""
    moment = _datetime_value(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def _regex_groups(pattern: str) -> _re2.RE2:
    """A `replace_regex` regex compiled by RE2 with its groups (the replacement may use them)."""
    options = _re2.RE2.Options()
    options.log_errors = False
    compiled = _re2.RE2(pattern.encode("utf-8"), options)
    if not compiled.ok():
        raise ValueError(compiled.error().decode("utf-8", "replace"))
    return compiled


def _regex(pattern: str) -> _re2.RE2:
    """A `check matches` regex compiled by RE2; ValueError with RE2's reason if it cannot run."""
    options = _re2.RE2.Options()
    options.never_capture = True
    options.log_errors = False
    compiled = _re2.RE2(pattern.encode("utf-8"), options)
    if not compiled.ok():
        raise ValueError(compiled.error().decode("utf-8", "replace"))
    return compiled


def _full_match(regex: _re2.RE2, value: str) -> bool:
    """Whether RE2 matches the whole value; linear in its length, whatever the regex."""
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("holds half of a surrogate pair, which is not text") from None
    return regex.Match(_RE2_WHOLE, data, 0, len(data))[0][0] >= 0


def _check_digit_ok(digits: str) -> bool:
    """The GS1 check digit rule shared by EAN-13 and the other GTINs."""
    total = 0
    weight = 3
    for char in reversed(digits[:-1]):
        total += (ord(char) - 48) * weight
        weight = 4 - weight
    return (10 - total % 10) % 10 == ord(digits[-1]) - 48


def _ean13(value: str) -> bool:
    """13 ASCII digits with a valid check digit."""
    return len(value) == 13 and value.isascii() and value.isdigit() and _check_digit_ok(value)


def _gtin(value: str) -> bool:
    """8, 12, 13 or 14 ASCII digits with a valid check digit."""
    return (
        len(value) in (8, 12, 13, 14)
        and value.isascii()
        and value.isdigit()
        and _check_digit_ok(value)
    )


def _issue(
    field: str | None, file: str, line: int | None, value: object, reason: str, action: str
) -> dict[str, object]:
    """One issue of one record, with the `.map` file and line of the field or rule that found
    it (an extends mapping spans files); record_id is filled in once the record is done."""
    return {
        "record_id": None,
        "field": field,
        "file": file,
        "line": line,
        "value": value,
        "reason": reason,
        "severity": "error" if action == "reject" else "warning",
        "action": action,
    }


def _record_id(record: dict[str, object], sources: tuple[str, ...]) -> str | None:
    """The record's id as issues name it: the first id source present, trimmed."""
    for source in sources:
        value = record.get(source)
        if isinstance(value, str):
            value = value.strip()
            if value:
                return value
        elif value is not None:
            try:
                return _text(value)
            except _Invalid:
                return None
    return None


def _get_path(record: dict[str, object], path: tuple[str, ...]) -> object:
    """The value at a path of nested objects (`cabecera.codigo`); None when a part is missing."""
    value: object = record
    for part in path:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _Invalid(f"{part!r} is looked up inside {_kind(value)}, not an object")
        value = value.get(part)
    return value


def _record_id_at(record: dict[str, object], paths: tuple[tuple[str, ...], ...]) -> str | None:
    """The record's id when an id source is a dotted path: `_record_id` over the values found."""
    values: dict[str, object] = {}
    for number, path in enumerate(paths):
        try:
            values[str(number)] = _get_path(record, path)
        except _Invalid:
            values[str(number)] = None
    return _record_id(values, tuple(values))


def _number_out(value: object) -> object:
    """A canonical decimal (its plain text) as a Decimal: the product gets a number, same digits."""
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
        return Decimal(value)
    return value


# --- version 2 expressions: a missing operand (None) makes the result missing ---------------


def _date_value(value: object) -> date:
    """An ERP "YYYY-MM-DD" date as a date."""
    return date.fromisoformat(_to_date(value))


def _moment(value: datetime | None, zone: tzinfo) -> datetime | None:
    """A datetime with its zone: a local one is taken to be in the mapping's `timezone`."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


def _add(a: object, b: object) -> object:
    """`a + b`: numbers add (Decimal, never float), strings join."""
    if a is None or b is None:
        return None
    return a + b  # type: ignore[operator]


def _sub(a: object, b: object) -> object:
    """`a - b`."""
    if a is None or b is None:
        return None
    return a - b  # type: ignore[operator]


def _mul(a: object, b: object) -> object:
    """`a * b`."""
    if a is None or b is None:
        return None
    return a * b  # type: ignore[operator]


def _div(a: object, b: object) -> Decimal | None:
    """`a / b` as a Decimal (also for two ints); dividing by zero makes the value invalid."""
    if a is None or b is None:
        return None
    if b == 0:
        raise _Invalid("division by zero")
    if a.__class__ is int:  # a Decimal divides by an int exactly as by its Decimal
        a = Decimal(a)
    return a / b  # type: ignore[operator]


def _neg(a: object) -> object:
    """`-a`."""
    return None if a is None else -a  # type: ignore[operator]


def _lt(a: object, b: object) -> bool:
    """`a < b`; false when either is missing."""
    return a is not None and b is not None and a < b  # type: ignore[operator]


def _le(a: object, b: object) -> bool:
    """`a <= b`; false when either is missing."""
    return a is not None and b is not None and a <= b  # type: ignore[operator]


def _gt(a: object, b: object) -> bool:
    """`a > b`; false when either is missing."""
    return a is not None and b is not None and a > b  # type: ignore[operator]


def _ge(a: object, b: object) -> bool:
    """`a >= b`; false when either is missing."""
    return a is not None and b is not None and a >= b  # type: ignore[operator]


def _fn_coalesce(*values: object) -> object:
    """The first value that is not missing."""
    for value in values:
        if value is not None:
            return value
    return None


def _fn_text(value: object) -> str | None:
    """Any value as text: numbers in plain notation, true/false, ISO 8601 dates."""
    if value is None or isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return _text(value)


def _fn_upper(value: str | None) -> str | None:
    """upper(s)."""
    return None if value is None else value.upper()


def _fn_lower(value: str | None) -> str | None:
    """lower(s)."""
    return None if value is None else value.lower()


def _fn_trim(value: str | None) -> str | None:
    """trim(s): spaces and other white space at both ends."""
    return None if value is None else value.strip()


def _fn_length(value: str | None) -> int | None:
    """length(s), in characters."""
    return None if value is None else len(value)


def _fn_substring(value: str | None, start: int | None, length: int | None) -> str | None:
    """SQL's SUBSTRING: `length` characters from the 1-based `start`; positions before 1 count."""
    if value is None or start is None or length is None:
        return None
    if length < 0:
        raise _Invalid("substring: the length is negative")
    end = start + length
    return value[max(start, 1) - 1 : max(end - 1, 0)]


def _fn_replace_regex(
    value: str | None, regex: _re2.RE2, replacement: tuple[str | int, ...]
) -> str | None:
    """Every match of the regex (on RE2: linear time) replaced; group numbers in `replacement`."""
    if value is None:
        return None
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("holds half of a surrogate pair, which is not text") from None
    size = len(data)
    spans = regex.Match(_RE2_ANYWHERE, data, 0, size)
    if spans[0][0] < 0:
        return value  # no match (the common case): nothing to rebuild
    out: list[bytes] = []
    position = 0
    while True:
        start, end = spans[0]
        out.append(data[position:start])
        for part in replacement:
            if isinstance(part, str):
                out.append(part.encode("utf-8"))
            elif spans[part][0] >= 0:
                out.append(data[spans[part][0] : spans[part][1]])
        position = end
        if end == start:  # an empty match: step over one character
            step = 1
            while end + step < size and (data[end + step] & 0xC0) == 0x80:
                step += 1
            out.append(data[end : end + step])
            position = end + step
            search = end + step
        else:
            search = end
        if search > size:
            break
        spans = regex.Match(_RE2_ANYWHERE, data, search, size)
        if spans[0][0] < 0:
            break
    out.append(data[position:])
    return b"".join(out).decode("utf-8")


def _fn_join(separator: str | None, parts: tuple[str | None, ...]) -> str | None:
    """The parts that are not missing, joined by the separator."""
    if separator is None:
        return None
    return separator.join([part for part in parts if part is not None])  # a list joins faster


# round()'s quantum per scale (the compiler allows 0 to 20), made once rather than per value
_QUANTA = tuple(Decimal(1).scaleb(-scale) for scale in range(21))


def _fn_round(value: object, scale: int, mode: str) -> Decimal | None:
    """The number rounded to `scale` digits after the point, by the stated mode."""
    if value is None:
        return None
    if value.__class__ is not Decimal:
        value = Decimal(value)  # type: ignore[arg-type]
    try:
        return value.quantize(_QUANTA[scale], rounding=mode)
    except ArithmeticError:  # more digits than decimal arithmetic holds (28)
        raise _Invalid(f"has too many digits to round to {scale} decimal places") from None


def _fn_year(value: date | None) -> int | None:
    """year(d)."""
    return None if value is None else value.year


def _fn_month(value: date | None) -> int | None:
    """month(d)."""
    return None if value is None else value.month


def _fn_day(value: date | None) -> int | None:
    """day(d)."""
    return None if value is None else value.day


def _fn_add_days(value: date | None, days: int | None) -> date | None:
    """A date or datetime `days` days later (earlier when negative)."""
    if value is None or days is None:
        return None
    try:
        return value + timedelta(days=days)
    except OverflowError:
        raise _Invalid("add_days: the date leaves the calendar") from None


def _fn_to_utc(value: datetime | None, zone: tzinfo, gap: str, overlap: str) -> datetime | None:
    """A local time in `zone` as UTC; a time the clocks skipped (gap) or lived twice (overlap)
    becomes what the mapping says: `shift_forward`, `earlier`, `later`, or invalid (`reject`)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    first = value.replace(tzinfo=zone, fold=0)
    second = value.replace(tzinfo=zone, fold=1)
    exists = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == value
    if not exists:
        if gap == "reject":
            raise _Invalid(f"{value.isoformat()} does not exist in {zone}: the clocks skip it")
        return first.astimezone(UTC)
    if first.utcoffset() != second.utcoffset():
        if overlap == "reject":
            raise _Invalid(f"{value.isoformat()} happens twice in {zone}: the clocks go back")
        return (first if overlap == "earlier" else second).astimezone(UTC)
    return first.astimezone(UTC)


def _rule_issue(
    record: dict[str, object],
    sources: tuple[str, ...],
    file: str,
    line: int,
    reason: str,
    action: str,
) -> dict[str, object]:
    """The one issue of a record a rule skips (information, not a failure) or rejects."""
    issue = _issue(None, file, line, None, reason, action)
    issue["record_id"] = _record_id(record, sources)
    if action == "skip":
        issue["severity"] = "info"
    return issue


def _lines(value: object) -> list[object]:
    """The elements of an `each` array: a list of objects; missing is no line at all."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Invalid(f"is {_kind(value)}, not a list of objects")
    return value


def _line_id(
    line_id: object, record: dict[str, object], sources: tuple[str, ...], part: int
) -> object:
    """How a line's issues name it: its own id when computed, else `<record id>#<part>`."""
    if line_id is not None:
        return line_id
    record_id = _record_id(record, sources)
    return f"{'' if record_id is None else record_id}#{part}"
