"""Pointing inside a string literal: from an offset in its value to a column in the file.

A bad regex or format() shape is reported at the offending character, not at
the whole string; escapes (`\\"`, `\\u00e9`) make value offsets and source
columns differ, so the literal is re-read from the source to map one onto the
other.
"""

from __future__ import annotations

from dsl.ast import Literal, Span

_SIMPLE_ESCAPES = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


def _decode_with_offsets(raw: str) -> tuple[str, list[int]] | None:
    """Decode a double-quoted JSON string; offsets[i] is where value char i starts in raw."""
    if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
        return None
    chars: list[str] = []
    offsets: list[int] = []
    index = 1
    while index < len(raw) - 1:
        char = raw[index]
        offsets.append(index)
        if char != "\\":
            chars.append(char)
            index += 1
            continue
        code = raw[index + 1 : index + 2]
        if code in _SIMPLE_ESCAPES:
            chars.append(_SIMPLE_ESCAPES[code])
            index += 2
        elif code == "u" and index + 6 <= len(raw) - 1:
            try:
                chars.append(chr(int(raw[index + 2 : index + 6], 16)))
            except ValueError:
                return None
            index += 6
        else:
            return None
    offsets.append(len(raw) - 1)
    return "".join(chars), offsets


def inside(source: str, literal: Literal, start: int, end: int | None = None) -> Span:
    """The span of value[start:end] of a one-line string literal, or the literal's own span."""
    span = literal.span
    lines = source.splitlines()
    if not isinstance(literal.value, str) or span.end_line != span.line or span.line > len(lines):
        return span
    raw = lines[span.line - 1][span.column - 1 : span.end_column - 1]
    decoded = _decode_with_offsets(raw)
    if decoded is None or decoded[0] != literal.value:
        return span
    offsets = decoded[1]
    last = len(offsets) - 1  # the closing quote: where an error "at the end" points
    start = max(0, min(start, last))
    if start == last:
        quote = span.column + offsets[last]
        return Span(span.line, quote, span.line, quote + 1)
    stop = max(start + 1, min(start + 1 if end is None else end, last))
    return Span(span.line, span.column + offsets[start], span.line, span.column + offsets[stop])
