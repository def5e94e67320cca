"""Version 2's field clauses about where a value comes from and how it leaves.

`<- "F CODIGO"` and `<- cabecera.codigo` (a raw key, a path into nested
objects), `-> "item-id"` and `-> attributes."color-code"` (quoted target
keys), `-> price as number` (a decimal written as a JSON number) and
`on missing omit|null` (a missing value leaves the key out or writes null).
Checked here, one statement at a time, so the rest of the checker only asks
for the resolved values.
"""

from __future__ import annotations

from typing import Literal

from compiler.language_version import require_version_2
from compiler.problems import Problems
from dsl import ast
from dsl.paths import is_dotted, is_plain, split_path
from dsl.suggest import did_you_mean

NumberOut = Literal["number", "string"]
OnMissing = Literal["omit", "null"]
NUMBER_OUT: tuple[NumberOut, ...] = ("number", "string")
ON_MISSING: tuple[OnMissing, ...] = ("omit", "null")
_AS_TYPES = {"decimal": NUMBER_OUT, "int": ("number",)}
"""The field types `as` applies to, and the words each takes (an int is always a number)."""


def check_statement(stmt: ast.FieldStmt, version: int, path: str, problems: Problems) -> None:
    """Version gates and closed word lists of one field or override line."""
    for source in stmt.sources:
        if not is_plain(source.text):
            feature = "a dotted source path" if "." in source.text else "a quoted source name"
            require_version_2(feature, version, path, source.span, problems)
            _check_path(source, "source", path, problems)
    if stmt.target is not None and not is_dotted(stmt.target.text):
        require_version_2("a quoted target key", version, path, stmt.target.span, problems)
        _check_path(stmt.target, "target", path, problems)
    if stmt.target_as is not None:
        require_version_2("`as` on a target", version, path, stmt.target_as.span, problems)
        _check_word(stmt.target_as, NUMBER_OUT, "as", path, problems)
    if stmt.on_missing is not None:
        require_version_2("`on missing`", version, path, stmt.on_missing.span, problems)
        _check_word(stmt.on_missing, ON_MISSING, "on missing", path, problems)


def _check_path(name: ast.Name, what: str, path: str, problems: Problems) -> None:
    parts = split_path(name.text)
    if parts is not None and any(part == "" for part in parts):
        problems.error(
            path, name.span, f"the {what} `{name.text}` has an empty key", 'write a key: `"F COD"`'
        )


def _check_word(
    word: ast.Name, allowed: tuple[str, ...], clause: str, path: str, problems: Problems
) -> None:
    if word.text not in allowed:
        choices = " or ".join(f"`{choice}`" for choice in allowed)
        hint = did_you_mean(word.text, allowed) or f"`{clause}` takes {choices}"
        problems.error(path, word.span, f"unknown `{clause}` choice `{word.text}`", hint)


def source_keys(sources: tuple[ast.Name, ...]) -> tuple[tuple[str, ...], ...]:
    """Each source as the keys it follows from the record (`f_a` -> ("f_a",))."""
    return tuple(split_path(source.text) or (source.text,) for source in sources)


def target_keys(target: ast.Name) -> tuple[str, ...]:
    """A target as the keys of the product record it writes."""
    return split_path(target.text) or (target.text,)


def number_out(
    stmt: ast.FieldStmt | None, type_name: str, path: str, problems: Problems
) -> NumberOut | None:
    """How the field's number is written (`as` of its target clause); None when not said."""
    if stmt is None or stmt.target_as is None or stmt.target_as.text not in NUMBER_OUT:
        return None
    word = stmt.target_as
    allowed = _AS_TYPES.get(type_name, ())
    if word.text not in allowed:
        if not allowed:
            reason = f"`{stmt.name.text}` is a {type_name} field; `as` is for decimal and int"
        else:
            reason = f"`{stmt.name.text}` is an int field, always written as a JSON number"
        problems.error(path, word.span, f"`as {word.text}` does not apply here: {reason}")
        return None
    return word.text


def on_missing(stmt: ast.FieldStmt | None) -> OnMissing | None:
    """The field's `on missing` choice; None when not said (top-level null, nested omitted)."""
    if stmt is None or stmt.on_missing is None or stmt.on_missing.text not in ON_MISSING:
        return None
    return stmt.on_missing.text
