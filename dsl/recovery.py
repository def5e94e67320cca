"""Cutting a file into its statements' lines, so that parsing can go on after an error.

When the whole file does not parse, each statement is parsed on its own and
every statement's first error is reported. A statement is one line, or, for a
`lookup`/`example` block, the lines up to its closing brace. A block that is
never closed ends where the next statement keyword starts a line.
"""

from __future__ import annotations

import re

STATEMENT_WORDS = frozenset(
    {"version", "mapping", "timezone", "every", "lookup", "field", "override", "remove", "example"}
)
# A string (closed or running to the end of the line) or a comment: text that holds no brackets.
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#.*')
_FIRST_WORD = re.compile(r"\s*([A-Za-z_]+)")


def _code(line: str) -> str:
    """The line with strings blanked and the comment removed: what brackets are counted in."""
    return _STRING_OR_COMMENT.sub(lambda m: '""' if m.group().startswith('"') else "", line)


def statement_line_ranges(source: str) -> list[tuple[int, int]]:
    """0-based, inclusive (first, last) line indexes of each statement, in order."""
    lines = source.split("\n")
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    depth = 0
    for index, line in enumerate(lines):
        code = _code(line)
        word = _FIRST_WORD.match(code)
        if depth and word is not None and word.group(1) in STATEMENT_WORDS:
            depth = 0
        if depth == 0:
            if not code.strip():
                continue
            if start is not None:
                ranges.append((start, index - 1))
            start = index
        opened = code.count("{") + code.count("[")
        closed = code.count("}") + code.count("]")
        depth = max(0, depth + opened - closed)
    if start is not None:
        ranges.append((start, len(lines) - 1))
    return ranges


def isolate(source: str, first: int, last: int) -> str:
    """The source with only lines first..last kept, at their own line numbers and columns."""
    lines = source.split("\n")
    return "\n" * first + "\n".join(lines[first : last + 1])
