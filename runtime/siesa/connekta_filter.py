"""The `parametros` filter of a Connekta query, built so that no value can change its meaning.

Connekta takes the filter as SQL-like text (`f120_ts >= '2025-01-15 10:00:00'`).
Nothing from outside reaches that text as it came: a column name must match a
strict identifier pattern, the timestamp is written by this module from the
datetime's numbers, the company code is written from an int. The finished
filter is then checked against the only shape this module can produce; text
of any other shape (a crafted datetime or int subclass that formats itself
as SQL, say) is refused before a request is made.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from runtime.config import SQL_IDENTIFIER_PATTERN

_IDENTIFIER = re.compile(SQL_IDENTIFIER_PATTERN)
_IDENT = r"[A-Za-z_][A-Za-z0-9_]{0,127}"
_TIMESTAMP = r"'[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}'"
_CONDITION = rf"{_IDENT} (?:>= {_TIMESTAMP}|= [0-9]{{1,18}})"
FILTER_SHAPE = re.compile(rf"{_CONDITION}(?: AND {_CONDITION})*")
"""Every filter this module builds: conditions joined by AND, nothing else."""


class UnsafeFilter(ValueError):
    """A part of the filter is not what the filter may hold; no request was made."""


def column_name(name: object) -> str:
    """`name` when it is a plain identifier; UnsafeFilter otherwise."""
    if isinstance(name, str) and _IDENTIFIER.fullmatch(name):
        return name
    raise UnsafeFilter(f"column name {str(name)[:60]!r} is not a plain identifier")


def timestamp_literal(moment: datetime, zone: ZoneInfo) -> str:
    """`'YYYY-MM-DD HH:MM:SS'` in the ERP's local time, to the second (fractions dropped).

    A naive moment is taken as ERP local time already. Dropping the fraction
    moves the bound back, never forward: nothing changed at the bound is missed.
    """
    if not isinstance(moment, datetime):
        raise UnsafeFilter(f"a change timestamp must be a datetime, not {type(moment).__name__}")
    local = moment.astimezone(zone) if moment.tzinfo is not None else moment
    parts = (local.year, local.month, local.day, local.hour, local.minute, local.second)
    if not all(type(part) is int for part in parts):
        raise UnsafeFilter("a change timestamp's fields must be plain integers")
    year, month, day, hour, minute, second = (int(part) for part in parts)
    return f"'{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}'"


def integer_literal(value: object) -> str:
    """A non-negative int as digits; UnsafeFilter for anything else (bools and strings included)."""
    if type(value) is not int or value < 0:
        raise UnsafeFilter(
            f"a filter number must be a non-negative integer, not {type(value).__name__}"
        )
    return str(int(value))


def build_filter(
    *,
    company_column: str,
    company_code: int,
    timestamp_column: str,
    since: datetime | None,
    zone: ZoneInfo,
) -> str:
    """`TS_COLUMN >= 'LOCAL TIME' AND COMPANY_COLUMN = CODE`, or only the company part when `since` is None."""
    conditions = []
    if since is not None:
        conditions.append(f"{column_name(timestamp_column)} >= {timestamp_literal(since, zone)}")
    conditions.append(f"{column_name(company_column)} = {integer_literal(company_code)}")
    text = " AND ".join(conditions)
    if not FILTER_SHAPE.fullmatch(text):
        raise UnsafeFilter("the filter did not come out in its only allowed shape; refused")
    return text
