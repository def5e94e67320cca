"""A document and the files it `extends`, read as the checks read them, for navigation and names.

Go to definition (an `extends` target, the base's line of an overridden field,
a lookup or column declared in a base) and the names completion offers (lookup
tables, columns, fields, the source columns of the document's examples) come
from this chain of parsed files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from compiler.checks import load_chain
from compiler.problems import Problems
from compiler.sources import LoadedFile, Loader, RefusedBase, common_root
from dsl import ast
from dsl.diagnostics import MapError
from editor.document import display_path
from editor.symbols import Symbol, field_statements

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a file on disk: its path, the span of the name there, and the file's text
    (for an editor that counts columns in UTF-16 units; empty at the file's start)."""

    path: Path
    span: ast.Span
    source: str = ""


_FILE_START = ast.Span(1, 1, 1, 1)


@dataclass(frozen=True, slots=True)
class Project:
    """The document (last) and the files it extends (base first), parsed."""

    loader: Loader
    chain: tuple[LoadedFile, ...]

    @property
    def document(self) -> LoadedFile:
        return self.chain[-1]

    @property
    def bases(self) -> tuple[LoadedFile, ...]:
        """The extended files, nearest first."""
        return tuple(reversed(self.chain[:-1]))

    def statements(self) -> Iterator[ast.Statement]:
        """Every statement of every file, base first."""
        for loaded in self.chain:
            yield from loaded.ast.statements


def load_project(
    text: str, path: Path, open_files: Mapping[str, str] | None = None
) -> Project | None:
    """The document and its bases; None when the document itself does not parse.

    The chain stops where `extends` cannot be followed (a refused path, a base
    that does not parse, a cycle): the checks report why.
    """
    shown = display_path(path)
    loader = Loader(common_root([path]), {**(open_files or {}), shown: text})
    try:
        document = loader.load(path, shown)
    except (MapError, OSError):
        return None
    return Project(loader, tuple(load_chain(document, loader.load_base, Problems())))


def _extends_target(project: Project, target: str) -> Path | None:
    """The file `extends "TARGET"` names, when the checks would read it (even if it is broken)."""
    document = project.document
    try:
        base = project.loader.load_base(document, target)
    except MapError:  # it was read: only its text is wrong, and the editor should open it
        return (Path(document.key).parent / target).resolve()
    except (RefusedBase, OSError):
        return None
    return Path(base.key)


def _declared(loaded: LoadedFile, symbol: Symbol) -> ast.Name | None:
    """Where `loaded` declares the symbol's field, lookup or column (not at the symbol itself)."""
    names: list[ast.Name] = []
    if symbol.kind == "field":
        names = [stmt.name for stmt in field_statements(loaded.ast, symbol.name)]
    elif symbol.kind == "lookup":
        names = [
            stmt.name
            for stmt in loaded.ast.statements
            if isinstance(stmt, ast.LookupStmt) and stmt.name.text == symbol.name
        ]
    elif symbol.kind == "column":
        names = [
            stmt.name
            for stmt in loaded.ast.statements
            if isinstance(stmt, ast.ColumnStmt) and stmt.name.text == symbol.name
        ]
    others = [name for name in names if name.span != symbol.span]
    return others[0] if others else None


def definition(project: Project, symbol: Symbol) -> Location | None:
    """Where the symbol is defined: the file `extends` names; for a field the line it
    overrides (the nearest base that writes it); for a lookup or column its declaration."""
    if symbol.kind == "extends":
        target = _extends_target(project, symbol.name)
        return None if target is None else Location(target, _FILE_START)
    if symbol.kind not in ("field", "lookup", "column"):
        return None
    overrides = isinstance(symbol.statement, ast.RemoveStmt) or (
        isinstance(symbol.statement, ast.FieldStmt) and symbol.statement.kind == "override"
    )
    searched = project.bases if overrides else (project.document, *project.bases)
    for loaded in searched:
        name = _declared(loaded, symbol)
        if name is not None:
            return Location(Path(loaded.key), name.span, loaded.ast.source)
    return None


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A field's type and whether it is required, as the last line that says so gives them."""

    type: str | None
    required: bool | None


def field_info(project: Project, name: str) -> FieldInfo:
    """The field's declared type and required-ness across the chain (the last word wins)."""
    field_type: str | None = None
    required: bool | None = None
    for loaded in project.chain:
        for stmt in field_statements(loaded.ast, name):
            field_type = stmt.type.text if stmt.type is not None else field_type
            required = stmt.required if stmt.required is not None else required
    if field_type is not None and required is None:
        required = False  # `field` lines default to optional
    return FieldInfo(field_type, required)


def written_key(keys: tuple[str, ...]) -> str:
    """A source as a `.map` file writes it: plain names, else JSON-quoted keys, joined by dots."""
    return ".".join(
        key if _PLAIN.fullmatch(key) else json.dumps(key, ensure_ascii=False) for key in keys
    )


def _record_keys(value: object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key of a record, and the dotted paths into its nested objects."""
    if not isinstance(value, dict):
        return
    for key, inner in value.items():
        path = (*prefix, str(key))
        yield path
        yield from _record_keys(inner, path)


@dataclass(frozen=True, slots=True)
class Names:
    """The names a document can use: its chain's lookups, columns and fields, and the
    source columns the examples' `in` records hold (as a source clause writes them): the
    document's first, then those of the files it extends."""

    lookups: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


def names_of(project: Project) -> Names:
    """The names of the document's chain."""
    lookups: dict[str, None] = {}
    columns: dict[str, None] = {}
    fields: dict[str, None] = {}
    for stmt in project.statements():
        if isinstance(stmt, ast.LookupStmt):
            lookups[stmt.name.text] = None
        elif isinstance(stmt, ast.ColumnStmt):
            columns[stmt.name.text] = None
        elif isinstance(stmt, ast.FieldStmt):
            fields[stmt.name.text] = None
    sources: dict[str, None] = {}
    for loaded in (project.document, *project.bases):
        for stmt in loaded.ast.statements:
            if not isinstance(stmt, ast.Example):
                continue
            for keys in _record_keys(stmt.input.value):
                sources[written_key(keys)] = None
    return Names(tuple(lookups), tuple(columns), tuple(fields), tuple(sources))
