"""Where a diagnostic sits in a document, as editors count: lines and characters from 0.

`siesa map check` underlines a diagnostic with a caret on its first line; an
editor underlines the same characters (dsl.diagnostics.Diagnostic.caret_width).
Columns here count characters (code points); a language client counting UTF-16
units converts them (the server does, with pygls's position codec).
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl.ast import Span
from dsl.diagnostics import Diagnostic


@dataclass(frozen=True, slots=True)
class CharRange:
    """A range of text: 0-based line and character, end exclusive."""

    line: int
    start: int
    end_line: int
    end: int


def source_lines(source: str) -> list[str]:
    """The lines as the parser numbers them: split at `\\n`, a trailing `\\r` dropped."""
    return [line.removesuffix("\r") for line in source.split("\n")]


def caret_range(diagnostic: Diagnostic, source: str) -> CharRange:
    """The characters the CLI's caret underlines; a span past the text is an empty range."""
    span = diagnostic.span
    line = span.line - 1
    start = span.column - 1
    lines = source_lines(source)
    if not 0 <= line < len(lines):
        return CharRange(max(line, 0), max(start, 0), max(line, 0), max(start, 0))
    width = diagnostic.caret_width(lines[line].expandtabs(1))
    return CharRange(line, start, line, start + width)


def span_range(span: Span) -> CharRange:
    """A whole AST span (1-based, end exclusive) as a 0-based range."""
    return CharRange(span.line - 1, span.column - 1, span.end_line - 1, span.end_column - 1)


def contains(span: Span, line: int, character: int) -> bool:
    """Whether the 0-based position is inside the span (its end excluded)."""
    here = (line + 1, character + 1)
    return (span.line, span.column) <= here < (span.end_line, span.end_column)
