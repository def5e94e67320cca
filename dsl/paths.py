"""Written source and target paths (`cabecera.codigo`, `"F CODIGO"`, `attributes."color-code"`).

A path is names and quoted keys joined by dots. The parser keeps the text as
written (the formatter writes it back unchanged); the compiler asks here for
the keys it stands for. A quoted key uses JSON string escapes and may hold any
character, a dot or a `#` included.
"""

from __future__ import annotations

import json
import re

_PART = re.compile(r'[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\\n]|\\.)*"')


def split_path(text: str) -> tuple[str, ...] | None:
    """The keys of a written path, in order; None when it is not one (a bad escape, say)."""
    parts: list[str] = []
    position = 0
    while True:
        match = _PART.match(text, position)
        if match is None:
            return None
        written = match.group()
        if written.startswith('"'):
            try:
                key = json.loads(written, strict=False)
            except ValueError:
                return None
            if any(0xD800 <= ord(char) <= 0xDFFF for char in key):
                return None
            parts.append(key)
        else:
            parts.append(written)
        position = match.end()
        if position == len(text):
            return tuple(parts)
        if text[position] != ".":
            return None
        position += 1


def is_plain(text: str) -> bool:
    """Whether a written path is one plain name (`f_codigo`): the only form version 1 has."""
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) is not None


def is_dotted(text: str) -> bool:
    """Whether a written target is names joined by dots, without quotes (version 1's targets)."""
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*", text) is not None
