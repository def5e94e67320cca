"""JSON text in and out with exact numbers: a JSON float is read as a Decimal and written back as it.

`json.loads` turns `12345678901234567890.125` into a float (digits lost) and
`json.dumps` cannot write a Decimal at all. Every place the runtime reads or
writes record data (ERP and product bodies, run-store pages and reports,
carryover) goes through `loads` and `dumps` here, so a number keeps the text
the ERP wrote it as from the extractor to the product request.

`dumps` writes dicts, lists, tuples, str, int, bool, None, finite floats and
finite Decimals; a Decimal as a JSON number with its own digits (`str(d)`).
Anything else, and NaN or infinity of any kind, is refused: JSON has no
text for them that another reader would take back.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any


def refuse_constant(name: str) -> Any:
    """A `parse_constant` hook: NaN and Infinity are not JSON numbers, and `dumps` cannot write them."""
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=refuse_constant)
"""Made once: `json.loads` with hooks builds a decoder per call, 40% of the time of a page line."""


def loads(text: str | bytes | bytearray) -> Any:
    """The JSON value of `text`; non-integral numbers as Decimal, NaN/Infinity refused (ValueError).

    What `json.loads(text, parse_float=Decimal, parse_constant=...)` gives, bytes decoded as it
    decodes them and a str starting with a byte-order mark refused as it refuses it.
    """
    if isinstance(text, bytes | bytearray):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    elif text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _DECODER.decode(text)


def dumps(obj: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """JSON text of `obj`: compact (`{"a":1}`), or pretty with `indent`; non-ASCII kept as is.

    Output is what `json.dumps(obj, ensure_ascii=False)` with those separators
    would give, except that a Decimal is written as a number with its digits.
    """
    try:  # the C encoder, when nothing in `obj` is a Decimal
        return json.dumps(
            obj,
            ensure_ascii=False,
            allow_nan=False,
            indent=indent,
            separators=(",", ":") if indent is None else (",", ": "),
            sort_keys=sort_keys,
        )
    except TypeError:
        pass
    parts: list[str] = []
    _encode(obj, parts, _Layout(indent, sort_keys), 0)
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class _Layout:
    indent: int | None
    sort_keys: bool


def _encode(obj: Any, parts: list[str], layout: _Layout, level: int) -> None:
    """Append the JSON text of `obj` to `parts` (the slow path, for values holding a Decimal)."""
    if isinstance(obj, str):
        parts.append(encode_basestring(obj))
    elif obj is None:
        parts.append("null")
    elif obj is True:
        parts.append("true")
    elif obj is False:
        parts.append("false")
    elif isinstance(obj, int):
        parts.append(int.__repr__(obj))
    elif isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"Decimal {obj} is not a finite number; JSON cannot write it")
        parts.append(str(obj))
    elif isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"float {obj!r} is not a finite number; JSON cannot write it")
        parts.append(float.__repr__(obj))
    elif isinstance(obj, dict):
        members: list[tuple[str | None, Any]] = [(_key(key), value) for key, value in obj.items()]
        if layout.sort_keys:
            members.sort(key=lambda member: str(member[0]))
        _encode_items(members, "{", "}", parts, layout, level)
    elif isinstance(obj, list | tuple):
        _encode_items([(None, value) for value in obj], "[", "]", parts, layout, level)
    else:
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _encode_items(
    items: list[tuple[str | None, Any]],
    opening: str,
    closing: str,
    parts: list[str],
    layout: _Layout,
    level: int,
) -> None:
    """An object's members or an array's elements, laid out as `json.dumps` lays them out."""
    if not items:
        parts.append(opening + closing)
        return
    indent = layout.indent
    inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
    outer = "" if indent is None else "\n" + " " * (indent * level)
    colon = ":" if indent is None else ": "
    parts.append(opening)
    for number, (key, value) in enumerate(items):
        parts.append(inner if number == 0 else "," + inner)
        if key is not None:
            parts.append(encode_basestring(key) + colon)
        _encode(value, parts, layout, level + 1)
    parts.append(outer + closing)


def _key(key: object) -> str:
    """An object key as `json.dumps` writes it: str as is; int, float, bool and None as text."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
