"""What to offer at the cursor, read from the text before it on its line.

Completion is asked for while a line is half typed, when the file seldom
parses; so the context is the line's text up to the cursor (and, for a line
inside a block, which block), and the names come from the last time the
document parsed (editor/project.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from compiler.field_output import NUMBER_OUT, ON_MISSING
from compiler.names import CUSTOM_PREFIX, POLICIES
from editor import vocabulary as v
from editor.project import Names

_WORD = re.compile(r"[A-Za-z0-9_:]*$")
_SOURCE_WORD = re.compile(r'(?:"[^"]*|[A-Za-z0-9_."]*)$')
_BLOCK_OPEN = re.compile(r"^\s*(example|lookup)\b.*\{\s*(?:#.*)?$")
_EXPRESSION_LINE = re.compile(
    r"^\s*(?:(?:field|override)\b[^#]*?[^=!<>]=(?!=)|(?:skip|reject)\s+when\b|each\b.*\bin\b)"
)
_EXPRESSION_SLOT = re.compile(r"(?:[\s(,+\-*/<>=]|\bwhen|\bthen|\belse|\band|\bor|\bnot)\s*$")
_EXPRESSION_WORDS = ("when", "then", "else", "and", "or", "not", "true", "false", "null")
_CLAUSE_WORDS = ("required", "optional", "default", "check", "on", "as")


@dataclass(frozen=True, slots=True)
class Completion:
    """The entries to offer, and the character where the word they replace starts."""

    entries: tuple[v.Entry, ...]
    start: int


def _block(lines_above: Sequence[str]) -> str | None:
    """`example` or `lookup` when the cursor's line is inside that block, else None."""
    for line in reversed(lines_above):
        stripped = line.strip()
        if stripped.startswith("}"):
            return None
        opened = _BLOCK_OPEN.match(line)
        if opened is not None:
            return opened.group(1)
        if stripped and not line[:1].isspace() and not stripped.startswith("#"):
            return None  # a statement at the margin: not inside a block
    return None


def _named(kind: v.EntryKind, names: Sequence[str], detail: str) -> tuple[v.Entry, ...]:
    return tuple(v.Entry(name, kind, detail) for name in names)


def _fields(names: Names) -> tuple[v.Entry, ...]:
    """The canonical fields, the file's custom ones, and the `custom:` prefix."""
    custom = [name for name in names.fields if name.startswith(CUSTOM_PREFIX)]
    return (
        v.canonical_fields()
        + tuple(v.canonical_field(name) for name in custom)
        + (v.Entry(CUSTOM_PREFIX, "keyword", "custom:NAME", v.canonical_field("custom:x").doc),)
    )


def _expression(names: Names) -> tuple[v.Entry, ...]:
    return (
        v.functions()
        + _named("column", names.columns, "declared column")
        + v.keywords(_EXPRESSION_WORDS)
    )


# (the text before the word, what to offer); the first that matches wins.
_CONTEXTS: tuple[tuple[re.Pattern[str], Callable[[Names], tuple[v.Entry, ...]]], ...] = (
    (re.compile(r"^\s*expect\s+$"), lambda _: v.keywords(v.words_after("expect"))),
    (re.compile(r"^\s*expect\s+(?:reject|warning)\b.*[\s,]$"), _fields),
    (re.compile(r"^\s*(?:field|override|remove)\s+$"), _fields),
    (re.compile(r"^\s*(?:field\s+\S+|column\s+\S+)\s+$"), lambda _: v.types()),
    (re.compile(r"\blookup\(\s*$"), lambda n: _named("lookup", n.lookups, "lookup table")),
    (re.compile(r"\|\s*$"), lambda _: v.steps()),
    (re.compile(r"\bcheck\s+$"), lambda _: v.check_words()),
    (re.compile(r"\bon\s+$"), lambda _: v.keywords(v.words_after("on"))),
    (re.compile(r"\bon\s+invalid\s+$"), lambda _: v.keywords(POLICIES)),
    (re.compile(r"\bon\s+missing\s+$"), lambda _: v.keywords(ON_MISSING)),
    (re.compile(r"->\s*\S+\s+as\s+$"), lambda _: v.keywords(NUMBER_OUT)),
)


def complete(prefix: str, lines_above: Sequence[str], names: Names) -> Completion:
    """What to offer after `prefix` (the cursor's line up to the cursor)."""
    source = _source_completion(prefix, names)
    if source is not None:
        return source
    word = _WORD.search(prefix)
    start = word.start() if word is not None else len(prefix)
    before = prefix[:start]
    if not before.strip():
        block = _block(lines_above)
        if block == "lookup":
            return Completion((), start)
        words = v.example_keywords() if block == "example" else v.statement_keywords()
        return Completion(v.keywords(words), start)
    for pattern, offer in _CONTEXTS:
        if pattern.search(before):
            return Completion(offer(names), start)
    if _EXPRESSION_LINE.match(before) and _EXPRESSION_SLOT.search(before):
        return Completion(_expression(names), start)
    if re.match(r"^\s*(?:field|override)\s+\S+", before) and before[-1:].isspace():
        return Completion(v.keywords(_CLAUSE_WORDS), start)
    return Completion((), start)


def _source_completion(prefix: str, names: Names) -> Completion | None:
    """After `<-` (or a comma in a source list, or in a `column` line): the example's columns."""
    word = _SOURCE_WORD.search(prefix)
    start = word.start() if word is not None else len(prefix)
    before = prefix[:start]
    if re.search(r"<-\s*$", before) or re.search(r"<-[^|>=#]*,\s*$", before):
        return Completion(_named("source", names.sources, "source column (from an example)"), start)
    return None
