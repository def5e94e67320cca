"""Cutting a file into its statements' lines, so that parsing can go on after an error.

When the whole file does not parse, each statement is parsed on its own and
every statement's first error is reported. A statement is one line, or, for a
`lookup`/`example` block, the lines up to its closing brace. A block that is
never closed ends where the next statement keyword starts a line. Inside a
block, each entry (a lookup line; an example's `in`/`expect` line with the
lines its JSON runs over) can be blanked out after its error is reported, so
that the block's other entries are checked too.
"""

from __future__ import annotations

import re

STATEMENT_WORDS = frozenset(
    {
        "version",
        "mapping",
        "timezone",
        "every",
        "lookup",
        "field",
        "override",
        "remove",
        "example",
        "column",
        "skip",
        "reject",
        "each",
    }
)
# A string (closed or running to the end of the line) or a comment: text that holds no brackets.
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#.*')
_FIRST_WORD = re.compile(r"\s*([A-Za-z_]+)")
_BLOCK_WORDS = frozenset({"lookup", "example"})
_EXAMPLE_LINE_WORDS = frozenset({"in", "expect"})


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


def _first_word(code: str) -> str:
    word = _FIRST_WORD.match(code)
    return "" if word is None else word.group(1)


def block_entry_ranges(source: str, first: int, last: int) -> list[tuple[int, int]]:
    """The entries of the block statement on lines first..last (0-based, inclusive).

    Empty when the statement is not a block. The header line and the closing
    `}` line are not entries.
    """
    lines = source.split("\n")
    codes = [_code(line) for line in lines[first : last + 1]]
    word = _first_word(codes[0])
    if word not in _BLOCK_WORDS:
        return []
    body_end = last
    while body_end > first and not codes[body_end - first].strip():
        body_end -= 1
    if body_end > first and codes[body_end - first].strip() == "}":
        body_end -= 1
    entries: list[tuple[int, int]] = []
    depth = 0
    for index in range(first + 1, body_end + 1):
        code = codes[index - first]
        starts = word == "lookup" or depth == 0 or _first_word(code) in _EXAMPLE_LINE_WORDS
        if not code.strip():
            continue
        if starts or not entries:
            entries.append((index, index))
            depth = 0
        else:
            entries[-1] = (entries[-1][0], index)
        depth = max(
            0, depth + code.count("{") + code.count("[") - code.count("}") - code.count("]")
        )
    return entries


def blank_out(text: str, first: int, last: int) -> str:
    """The text with lines first..last (0-based, inclusive) emptied; other lines keep their place."""
    lines = text.split("\n")
    for index in range(first, min(last, len(lines) - 1) + 1):
        lines[index] = ""
    return "\n".join(lines)
