"""The language's words as an editor offers and explains them, read from where the language keeps them.

Keywords come from the grammar (dsl/grammar.lark, through the built parser);
canonical fields, steps, functions and validators from the compiler's own
tables (compiler/names.py, compiler/expressions.py), with their one-line docs
kept beside them. Nothing is listed twice, so the editor cannot fall behind
the language.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from lark.grammar import NonTerminal, Terminal

from compiler.expressions import FUNCTION_DOCS, SIGNATURES
from compiler.names import (
    CANONICAL_DOCS,
    CANONICAL_FIELDS,
    CHECK_DOCS,
    CUSTOM_DOC,
    CUSTOM_PREFIX,
    STEP_DOCS,
    STEP_SIGNATURES,
    VALIDATORS,
)
from dsl.syntax import keyword_spellings, lark_parser
from dsl.type_names import TYPE_NAMES

EntryKind = Literal[
    "keyword",
    "field",
    "type",
    "step",
    "function",
    "validator",
    "check",
    "lookup",
    "column",
    "source",
]


@dataclass(frozen=True, slots=True)
class Entry:
    """One word an editor may complete or explain: what it is, its type or signature, its doc."""

    name: str
    kind: EntryKind
    detail: str
    doc: str = ""

    def markdown(self) -> str:
        """Hover text: the signature or type in a code block, then the one line of doc."""
        block = f"```siesa-map\n{self.detail}\n```"
        return f"{block}\n{self.doc}" if self.doc else block


@cache
def grammar_keywords() -> tuple[str, ...]:
    """Every keyword the grammar spells as a word (`field`, `check`, `expect`, ...), sorted."""
    return tuple(sorted({text for text in keyword_spellings().values() if text.isalpha()}))


def _first_words(origins: frozenset[str]) -> tuple[str, ...]:
    """The keywords the rules of these grammar symbols start with."""
    spellings = keyword_spellings()
    firsts = {
        spellings[rule.expansion[0].name]
        for rule in lark_parser().rules
        if rule.origin.name in origins
        and rule.expansion
        and isinstance(rule.expansion[0], Terminal)
        and rule.expansion[0].name in spellings
    }
    return tuple(sorted(firsts))


@cache
def statement_keywords() -> tuple[str, ...]:
    """The words a statement starts with: the first terminal of each `_statement` rule."""
    statements = frozenset(
        symbol.name
        for rule in lark_parser().rules
        if rule.origin.name == "_statement"
        for symbol in rule.expansion
        if isinstance(symbol, NonTerminal)
    )
    return _first_words(statements)


@cache
def example_keywords() -> tuple[str, ...]:
    """The words a line inside an `example { ... }` block starts with."""
    return _first_words(frozenset({"example_item"}))


@cache
def words_after(keyword: str) -> tuple[str, ...]:
    """The keywords the grammar lets follow a keyword (`expect` -> `canonical`, `reject`, ...)."""
    spellings = keyword_spellings()
    terminals = {name for name, text in spellings.items() if text == keyword}
    found = {
        spellings[second.name]
        for rule in lark_parser().rules
        for first, second in zip(rule.expansion, rule.expansion[1:], strict=False)
        if isinstance(first, Terminal)
        and first.name in terminals
        and isinstance(second, Terminal)
        and spellings.get(second.name, "").isalpha()
    }
    return tuple(sorted(found))


def canonical_field(
    name: str, field_type: str | None = None, required: bool | None = None
) -> Entry:
    """A canonical field, with the type its `field` line gives when known."""
    doc = CUSTOM_DOC if name.startswith(CUSTOM_PREFIX) else CANONICAL_DOCS.get(name, "")
    shown = [field_type] if field_type else []
    if required is not None:
        shown.append("required" if required else "optional")
    detail = f"field {name}" + (f": {' '.join(shown)}" if shown else "")
    return Entry(name, "field", detail, doc)


def canonical_fields() -> tuple[Entry, ...]:
    """The canonical fields of the product model (custom ones are the file's own)."""
    return tuple(canonical_field(name) for name in CANONICAL_FIELDS)


def step(name: str) -> Entry | None:
    """A pipeline step: its signature; steps take text and give text."""
    if name not in STEP_SIGNATURES:
        return None
    detail = f"| {STEP_SIGNATURES[name]}: string -> string"
    return Entry(name, "step", detail, STEP_DOCS[name])


def function(name: str) -> Entry | None:
    """An expression function (version 2): its signature and the type it gives."""
    if name not in SIGNATURES:
        return None
    gives, doc = FUNCTION_DOCS[name]
    return Entry(name, "function", f"{SIGNATURES[name]} -> {gives}", doc)


def validator(name: str) -> Entry | None:
    """A named check (`check ean13`): the types it applies to and what it accepts."""
    if name not in VALIDATORS:
        return None
    types, failure = VALIDATORS[name]
    accepts = failure.removeprefix("is not ")
    return Entry(
        name, "validator", f"check {name}: {', '.join(sorted(types))}", f"passes {accepts}"
    )


def check(kind: str) -> Entry:
    """A check written with a keyword or an operator (`matches`, `length`, `in`, `>=`, `N..M`)."""
    types, doc = CHECK_DOCS[kind]
    word = {"compare": ">= N", "range": "N..M"}.get(kind, kind)
    return Entry(word, "check", f"check {word}: {types}", doc)


def steps() -> tuple[Entry, ...]:
    return tuple(entry for name in STEP_SIGNATURES if (entry := step(name)) is not None)


def functions() -> tuple[Entry, ...]:
    return tuple(entry for name in SIGNATURES if (entry := function(name)) is not None)


def validators() -> tuple[Entry, ...]:
    return tuple(entry for name in VALIDATORS if (entry := validator(name)) is not None)


def check_words() -> tuple[Entry, ...]:
    """What may follow `check`: the validators, and the keyword checks."""
    words = tuple(check(kind) for kind in ("matches", "length", "in"))
    return validators() + words


def types() -> tuple[Entry, ...]:
    return tuple(Entry(name, "type", f"type {name}") for name in TYPE_NAMES)


def keywords(words: tuple[str, ...]) -> tuple[Entry, ...]:
    return tuple(Entry(word, "keyword", word) for word in words)
