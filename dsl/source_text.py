"""A `.map` file's bytes as the text the parser reads: UTF-8, with or without a byte order mark.

A file that is not UTF-8 is one diagnostic at its first bad byte (line and
column), shown on its line with the bad bytes replaced, never a traceback.
"""

from __future__ import annotations

import codecs

from dsl.ast import Span
from dsl.diagnostics import Diagnostic, MapError


def decode_map_bytes(data: bytes, path: str) -> str:
    """The text of a `.map` file; MapError at the first byte that is not UTF-8."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8")) + 1
        message = (
            f"this file is not UTF-8 text: byte 0x{data[error.start]:02X}"
            f" is not valid here ({error.reason})"
        )
        diagnostic = Diagnostic(
            path,
            Span(line, column, line, column + 1),
            message,
            hint="save the file with UTF-8 encoding",
        )
        shown = data.decode("utf-8", errors="replace")
        raise MapError([diagnostic], {path: shown}) from None
