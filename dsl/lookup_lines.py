"""Plain lookup entries read with one regex instead of the parser, for files with large tables.

A lookup table of 100,000 codes is 400,000 tokens; Lark's LALR parser spends
tens of microseconds on each. Most entries are the plain form
`"code" -> "value"` with no escape and no comment, whose meaning needs no
parser: those lines are taken out of the text before parsing (their line
left empty, so every other position stays where it was) and put back into
their table afterwards, with the same nodes and spans the parser would give.
Any other line (an escape, a comment, a tab, a mistake) stays for the parser.
The parser module uses this only when the whole file parses; errors are
always found on the original text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from dsl.ast import Literal, LookupEntry, LookupStmt, Span, Statement
from dsl.recovery import statement_line_ranges

# Only spaces separate tokens (the grammar ignores ` +`); no backslash, so the text is the value.
_PLAIN_ENTRY = re.compile(r' *("[^"\\\n]*") *-> *("[^"\\\n]*") *\r?')
_LOOKUP_START = re.compile(r"\s*lookup\b")


def _literal(match: re.Match[str], group: int, line: int) -> Literal:
    start, end = match.span(group)
    return Literal(match.group(group)[1:-1], Span(line, start + 1, line, end + 1))


def take_plain_entries(source: str) -> tuple[str, list[LookupEntry]]:
    """The source with the plain entry lines of its lookup blocks emptied, and those entries."""
    if "lookup" not in source:
        return source, []
    lines = source.split("\n")
    entries: list[LookupEntry] = []
    for first, last in statement_line_ranges(source):
        if not _LOOKUP_START.match(lines[first]):
            continue
        for index in range(first + 1, last + 1):
            match = _PLAIN_ENTRY.fullmatch(lines[index])
            if match is None:
                continue
            number = index + 1
            key, value = _literal(match, 1, number), _literal(match, 2, number)
            span = Span(number, key.span.column, number, value.span.end_column)
            entries.append(LookupEntry(key, value, span))
            lines[index] = "\r" if lines[index].endswith("\r") else ""
    return "\n".join(lines), entries


def put_back(
    statements: Sequence[Statement], entries: list[LookupEntry]
) -> tuple[Statement, ...] | None:
    """The statements with each taken entry back in the lookup block whose lines hold it.

    None when an entry lies in no lookup block the parser found (the text was
    not what it looked like): the caller then parses the original text.
    """
    if not entries:
        return tuple(statements)
    remaining = sorted(entries, key=lambda entry: entry.span.line)
    result: list[Statement] = []
    position = 0
    for stmt in statements:
        if isinstance(stmt, LookupStmt):
            mine: list[LookupEntry] = []
            while position < len(remaining) and remaining[position].span.line < stmt.span.line:
                position += 1
            while position < len(remaining) and remaining[position].span.line <= stmt.span.end_line:
                mine.append(remaining[position])
                position += 1
            if mine:
                merged = sorted([*stmt.entries, *mine], key=lambda entry: entry.span.line)
                stmt = dataclasses.replace(stmt, entries=tuple(merged))
        result.append(stmt)
    placed = sum(len(stmt.entries) for stmt in result if isinstance(stmt, LookupStmt))
    before = sum(len(stmt.entries) for stmt in statements if isinstance(stmt, LookupStmt))
    return tuple(result) if placed - before == len(entries) else None
