"""What hovering over a name shows: its type or signature and one line of doc."""

from __future__ import annotations

import re

from compiler.names import CANONICAL_FIELDS, CUSTOM_PREFIX
from dsl import ast
from editor import vocabulary as v
from editor.project import Project, field_info
from editor.symbols import Symbol

_WORD = re.compile(r"[A-Za-z0-9_:]+")


def _lookup(project: Project, name: str) -> v.Entry | None:
    tables = [
        s for s in project.statements() if isinstance(s, ast.LookupStmt) and s.name.text == name
    ]
    if not tables:
        return None
    count = len(tables[-1].entries)
    return v.Entry(name, "lookup", f"lookup {name}: {count} entries", "a code -> value table")


def _column(project: Project, name: str) -> v.Entry | None:
    columns = [
        s for s in project.statements() if isinstance(s, ast.ColumnStmt) and s.name.text == name
    ]
    if not columns:
        return None
    column = columns[-1]
    source = column.source
    read = (
        name
        if source is None
        else (source.text if isinstance(source, ast.Name) else repr(source.value))
    )
    return v.Entry(
        name, "column", f"column {name} {column.type.text}", f"reads `{read}` from the record"
    )


def describe(symbol: Symbol, project: Project) -> v.Entry | None:
    """The entry for a symbol of the document, with what the document's chain says of it."""
    if symbol.kind == "field":
        info = field_info(project, symbol.name)
        return v.canonical_field(symbol.name, info.type, info.required)
    if symbol.kind == "step":
        return v.step(symbol.name)
    if symbol.kind == "function":
        return v.function(symbol.name)
    if symbol.kind == "validator":
        return v.validator(symbol.name)
    if symbol.kind == "check":
        return v.check(symbol.name)
    if symbol.kind == "lookup":
        return _lookup(project, symbol.name)
    if symbol.kind == "column":
        return _column(project, symbol.name)
    return v.Entry(
        symbol.name, "keyword", f'extends "{symbol.name}"', "the base file this one changes"
    )


def describe_word(line: str, character: int) -> tuple[v.Entry, int, int] | None:
    """For a document that does not parse: the known word at a position, read from its line.

    A word after `|` is a step, after `check` a validator, before `(` a
    function; a canonical field is known by its name. Returns the entry and
    the word's start and end.
    """
    for match in _WORD.finditer(line):
        if not match.start() <= character < match.end():
            continue
        word, before, after = match.group(), line[: match.start()], line[match.end() :]
        entry: v.Entry | None = None
        if re.search(r"\|\s*$", before):
            entry = v.step(word)
        elif re.search(r"\bcheck\s+$", before):
            entry = v.validator(word)
        elif after.lstrip().startswith("("):
            entry = v.function(word)
        elif word in CANONICAL_FIELDS or word.startswith(CUSTOM_PREFIX):
            entry = v.canonical_field(word)
        return None if entry is None else (entry, match.start(), match.end())
    return None
