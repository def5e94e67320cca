"""Lark's syntax errors, said in the user's words: what was expected where, and what was found.

The parser state tells which terminals could have come next; the tokens
already read in the current statement say where we are (after `<-`, inside a
lookup block, ...). From both we pick a sentence a person who has read
docs/mapping-language.md will understand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from dsl.ast import Span
from dsl.builder import token_span
from dsl.diagnostics import Diagnostic
from dsl.suggest import did_you_mean
from dsl.syntax import keyword_spellings
from dsl.type_names import TYPE_NAMES

STATEMENT_KEYWORDS = {
    "VERSION": "version",
    "MAPPING": "mapping",
    "TIMEZONE": "timezone",
    "EVERY": "every",
    "LOOKUP": "lookup",
    "FIELD": "field",
    "OVERRIDE": "override",
    "REMOVE": "remove",
    "EXAMPLE": "example",
    "COLUMN": "column",
    "SKIP": "skip",
    "REJECT": "reject",
    "EACH": "each",
}
CLAUSE_STARTS = frozenset({"_LARROW", "EQUAL", "_RARROW", "VBAR", "DEFAULT", "CHECK", "ON"})
LITERAL_STARTS = frozenset({"STRING", "NUMBER", "TRUE", "FALSE", "NULL"})
JSON_STARTS = frozenset({"LBRACE", "LSQB", "JSON_NUMBER"})

A_STATEMENT = (
    "a statement (`field`, `override`, `remove`, `lookup`, `example`, `every string`, "
    "`timezone`, `mapping` or `version`)"
)
A_CLAUSE = "a clause (`-> TARGET`, `| STEP`, `default VALUE`, `check CHECK`, `on invalid POLICY`)"
A_VALUE = 'a value (a "string", a number, `true`, `false` or `null`)'
A_TYPE = ", ".join(f"`{name}`" for name in TYPE_NAMES)
A_CHECK = (
    'a check after `check`: `matches "REGEX"`, a validator such as `ean13`, '
    "`>= N`, `N..M`, `length N..M` or `in [...]`"
)

_DISPLAY = {
    "NAME": "a name",
    "CUSTOM_NAME": "`custom:NAME`",
    "STRING": 'a "string"',
    "NUMBER": "a number",
    "JSON_NUMBER": "a number",
    "TARGET": "a product field",
    "SOURCE_PATH": "an ERP field name",
    "MAPPING_NAME": "a mapping name",
    "COMPARE_OP": "`>=`, `>`, `<=` or `<`",
    "_NL": "the end of the line",
    "$END": "the end of the file",
}


@dataclass(frozen=True, slots=True)
class _Context:
    """Where the parser stood: what it could accept, the statement it was in, what it had read."""

    expected: frozenset[str]
    statement: Token | None
    items: tuple[object, ...]  # the current statement's parts so far, repetitions flattened
    previous: str

    def after(self, *kinds: str) -> bool:
        return self.previous in kinds

    def holds(self, *kinds: str) -> bool:
        """Whether the current statement already holds a rule or token of one of these kinds."""
        return any(_kind(item) in kinds for item in self.items)

    def last_of(self, *kinds: str) -> Token | None:
        """The last token of these kinds read in the current statement and not yet reduced."""
        for item in reversed(self.items):
            if isinstance(item, Token) and item.type in kinds:
                return item
        return None


def _kind(item: object) -> str:
    if isinstance(item, Token):
        return item.type
    if isinstance(item, Tree):
        return str(item.data)
    return ""


def _flatten(items: Sequence[object]) -> list[object]:
    """Open up Lark's helper trees for `x*` / `x+` (named `__...`) so their parts are visible."""
    flat: list[object] = []
    for item in items:
        if isinstance(item, Tree) and str(item.data).startswith("__"):
            flat.extend(_flatten(item.children))
        else:
            flat.append(item)
    return flat


def _context(error: UnexpectedInput) -> _Context:
    state = getattr(error, "state", None)
    stack: list[object] = list(getattr(state, "value_stack", None) or [])
    expected: set[str] = set()
    try:
        table = state.parse_conf.parse_table.states[state.position]  # type: ignore[union-attr]
        expected = {name for name in table if name == "$END" or name.lstrip("_")[:1].isupper()}
    except (AttributeError, KeyError, TypeError):
        expected = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
    flat = _flatten(stack)
    start = next(
        (
            index
            for index in range(len(flat) - 1, -1, -1)
            if isinstance(flat[index], Token)
            and _kind(flat[index]) in STATEMENT_KEYWORDS
            and (index == 0 or _kind(flat[index - 1]) != "EXPECT")  # `expect reject`
        ),
        None,
    )
    statement = None if start is None else flat[start]
    assert statement is None or isinstance(statement, Token)
    items = () if start is None else tuple(flat[start:])
    previous = _kind(flat[-1]) if flat else ""
    return _Context(frozenset(expected), statement, items, previous)


def _trailing_validator(item: object) -> Token | None:
    """The name of a `check NAME` that ends this subtree: `check lenght 1..5` read `lenght` so."""
    while isinstance(item, Tree):
        if item.data == "named_check":
            return _last_token(item)
        children = [child for child in item.children if child is not None]
        if not children:
            return None
        item = children[-1]
    return None


def _last_token(item: object) -> Token | None:
    """The last token inside a subtree (or the item itself)."""
    while isinstance(item, Tree):
        children = [child for child in item.children if child is not None]
        if not children:
            return None
        item = children[-1]
    return item if isinstance(item, Token) else None


def _show(token: Token) -> str:
    """How the unexpected token is named in a message."""
    if token.type == "_NL":
        return "the end of the line"
    if token.type == "$END":
        return "the end of the file"
    text = str(token)
    if len(text) > 30:
        text = text[:27] + "..."
    return f"`{text}`"


def _show_char(char: str) -> str:
    if char.isprintable() and not char.isspace():
        return f"`{char}`"
    return f"U+{ord(char):04X}"


def _display(name: str) -> str:
    if name in _DISPLAY:
        return _DISPLAY[name]
    spelling = keyword_spellings().get(name)
    return f"`{spelling}`" if spelling else name


def _one_of(names: frozenset[str]) -> str:
    shown = sorted({_display(name) for name in names})
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _statement_kind(ctx: _Context) -> str:
    """`field`, `override`, `lookup`, ...: the keyword of the statement being read, or ""."""
    return "" if ctx.statement is None else STATEMENT_KEYWORDS[ctx.statement.type]


def _expected_phrase(ctx: _Context) -> str:
    """What could have come next, in the language's own terms."""
    e = ctx.expected
    kind = _statement_kind(ctx)
    if ctx.statement is None:
        return A_STATEMENT
    block = _open_block(ctx)
    if block is not None and ctx.after("_NL"):
        return _BLOCK_BODY[block[0]]
    if kind == "remove" and ctx.after("NAME", "CUSTOM_NAME", "canonical"):
        return "the end of the line after the field name"
    if (
        kind == "example"
        and ctx.holds("REJECT", "WARNING")
        and ctx.after("NAME", "CUSTOM_NAME", "canonical")
    ):
        return "`,` and another canonical field name, or the end of the line"
    if {"NAME", "CUSTOM_NAME"} <= e:
        return "a canonical field name (such as `id`, `name`, `ean` or `custom:NAME`)"
    if "MAPPING_NAME" in e:
        return "a mapping name after `mapping` (lowercase letters, digits, `_` and `-`, e.g. `cliente-a`)"
    if {"FOR", "EXTENDS"} <= e:
        return '`for PRODUCT` or `extends "FILE.map"` after the mapping name'
    if "TARGET" in e:
        return "a product field after `->`, such as `quantity` or `attributes.color`"
    if "MATCHES" in e:
        return A_CHECK
    if "INVALID" in e:
        return (
            "`invalid` or `missing` after `on` (`on invalid reject`, `drop` or `warn`; "
            "`on missing omit` or `null`)"
        )
    if "_STRING_TYPE" in e:
        return "`string` after `every` (`every string | STEP ...`)"
    if {"CANONICAL", "PRODUCT", "REJECT"} <= e:
        return "`canonical`, `product`, `reject` or `warning` after `expect`"
    if {"IN", "EXPECT", "RBRACE"} <= e:
        return _BLOCK_BODY["example"]
    if kind == "lookup" and {"STRING", "RBRACE"} <= e:
        return _BLOCK_BODY["lookup"]
    if "_RARROW" in e and kind == "lookup":
        return "`->` between the lookup key and its value"
    if "COLON" in e:
        return "`:` after the JSON key"
    if e >= JSON_STARTS:
        return "a JSON value" + (
            ' after `in`, e.g. `in {"f_codigo": "P1"}`' if ctx.after("IN") else ""
        )
    if kind == "example" and "STRING" in e and ctx.after("LBRACE", "COMMA"):
        return 'a JSON key (a "string")' + (" or `}`" if "RBRACE" in e else "")
    opener = _open_bracket(ctx)
    if "COMMA" in e and opener == "LPAR":
        return "`,` or `)` in the step's arguments"
    if "COMMA" in e and opener == "LSQB":
        return "`,` or `]` in the list"
    if "COMMA" in e and opener == "LBRACE":
        return "`,` or `}` in the JSON object"
    if kind == "example" and opener is None and "_NL" in e:
        return "the end of the line after the JSON value"
    if "LBRACE" in e:
        owner = "lookup table's name" if kind == "lookup" else "example's name"
        return f"`{{` after the {owner}"
    if "REQUIRED" in e and "NAME" in e and kind == "field":
        return f"the field's type ({A_TYPE})"
    if "REQUIRED" in e and "NAME" in e:
        return "a type, `required`, `optional` or a clause after the field name"
    if e >= LITERAL_STARTS and ctx.after("EQUAL"):
        return 'a constant value (a "string", a number, `true`, `false` or `null`) after `=`'
    if e >= LITERAL_STARTS and {"MINUS", "LPAR", "NAME"} <= e:
        return "a value, a column, a function call or `(`"
    if "LPAR" in e or ("VBAR" in e and "_NL" in e):
        if kind == "every":
            return "another `| STEP` or the end of the line"
        return _clause_phrase(ctx)
    if "VBAR" in e:
        return "`| STEP` after `every string`"
    if e >= LITERAL_STARTS:
        if ctx.after("DEFAULT"):
            return f"{A_VALUE} after `default`"
        if ctx.after("EQUAL"):
            return 'a constant value (a "string", a number, `true`, `false` or `null`) after `=`'
        if "NAME" in e:
            return "a step argument (a value or a lookup table's name)" + (
                " or `)`" if "RPAR" in e else ""
            )
        return A_VALUE
    if "STRING" in e:
        return {
            "TIMEZONE": 'the time zone as a string after `timezone`, e.g. `timezone "America/Bogota"`',
            "EXTENDS": 'the base file as a string after `extends`, e.g. `extends "kong.map"`',
            "MATCHES": "a regular expression as a string after `matches`",
            "EXAMPLE": 'the example\'s name as a string, e.g. `example "a plain record" {`',
            "_RARROW": "the lookup value as a string after `->`",
        }.get(ctx.previous, 'a "string"')
    if "NUMBER" in e and "COMPARE_OP" in e:
        return "`N..M`, `<= M` or `>= N` after `length`"
    if "NUMBER" in e:
        return {
            "VERSION": "the language version number after `version`, e.g. `version 1`",
            "_DOTDOT": "a number after `..`",
            "COMPARE_OP": "a number after the comparison",
        }.get(ctx.previous, "a number")
    if "_DOTDOT" in e:
        return "`..` in the range `N..M`"
    if "REQUIRED" in e or e & CLAUSE_STARTS:
        return _clause_phrase(ctx)
    if e == {"NAME", "SOURCE_PATH"}:
        return {
            "_LARROW": "an ERP field name after `<-`, such as `f_codigo`",
            "COMMA": "another ERP field name after `,`",
        }.get(ctx.previous, "an ERP field name")
    if e == {"NAME"}:
        return {
            "AS": "`number` or `string` after `as`",
            "MISSING": "`omit` or `null` after `on missing`",
            "VBAR": "a step name after `|`, such as `trim` or `lookup(TABLE)`",
            "_LARROW": "an ERP field name after `<-`, such as `f_codigo`",
            "COMMA": "another ERP field name after `,`",
            "FOR": "the product after `for`, e.g. `for kong`",
            "LOOKUP": "the lookup table's name after `lookup`",
            "INVALID": "the policy after `on invalid`: `reject`, `drop` or `warn`",
        }.get(ctx.previous, "a name")
    if e <= {"_NL", "$END"}:
        if kind == "lookup" and ctx.after("LBRACE"):
            return "the end of the line after `{`: one lookup entry per line"
        if kind == "example" and ctx.after("LBRACE"):
            return "the end of the line after `{`: the example's lines go one per line"
        if kind == "lookup":
            return "the end of the line: one lookup entry per line"
        return "the end of the line"
    return _one_of(ctx.expected)


def _open_bracket(ctx: _Context) -> str | None:
    """The innermost `(`, `[` or JSON `{` still open in the statement, if any.

    An example block's own `{` does not count: the search stops at the
    `in`/`canonical`/`product` keyword that starts the JSON value.
    """
    closed = 0
    for item in reversed(ctx.items):
        kind = _kind(item)
        if kind in ("RPAR", "RSQB", "RBRACE"):
            closed += 1
        elif kind in ("LPAR", "LSQB", "LBRACE"):
            if not closed:
                return kind
            closed -= 1
        elif kind in ("IN", "CANONICAL", "PRODUCT", "LOOKUP", "EXAMPLE"):
            return None
    return None


def _clause_phrase(ctx: _Context) -> str:
    """After a field's name or type: name the clause that is still missing first."""
    wants_source = _statement_kind(ctx) == "field" and not ctx.holds(
        "source_clause", "constant_clause", "_LARROW", "EQUAL"
    )
    if wants_source and "REQUIRED" in ctx.expected:
        return "`required`, `optional`, `<- SOURCE` or `= VALUE` after the field's type"
    if wants_source:
        return "`<- SOURCE` or `= VALUE` after the field's type"
    return f"{A_CLAUSE} or the end of the line"


_BLOCK_BODY = {
    "lookup": 'a `"key" -> "value"` entry or `}` to close the lookup block',
    "example": (
        "`in {...}`, `expect canonical {...}`, `expect product {...}`, "
        "`expect reject FIELD`, `expect warning FIELD` or `}` to close the example"
    ),
}


def _open_block(ctx: _Context) -> tuple[str, Token] | None:
    """The lookup/example block the parser is inside, with its `{` token."""
    if ctx.statement is None or ctx.statement.type not in ("LOOKUP", "EXAMPLE"):
        return None
    brace = next(
        (item for item in ctx.items if isinstance(item, Token) and item.type == "LBRACE"), None
    )
    if brace is None:
        return None
    return ("lookup" if ctx.statement.type == "LOOKUP" else "example"), brace


def _keyword_hint(token: Token, ctx: _Context) -> str | None:
    if token.type in ("_NL", "$END"):
        return None
    if str(token) in ("required", "optional") and ctx.statement is not None:
        return f"`{token}` goes right after the type, e.g. `field id string {token} <- f_codigo`"
    validator = _trailing_validator(ctx.items[-1]) if ctx.items else None
    if len(ctx.items) >= 2 and _kind(ctx.items[-2]) == "CHECK":
        validator = _last_token(ctx.items[-1])
    if validator is not None:
        hint = did_you_mean(str(validator), ("length", "matches", "in"))
        if hint is not None:
            return hint
    words = [
        spelling
        for name, spelling in keyword_spellings().items()
        if name in ctx.expected and spelling.isidentifier()
    ]
    if "NAME" in ctx.expected and _statement_kind(ctx) == "field" and "REQUIRED" in ctx.expected:
        words.extend(TYPE_NAMES)
    return did_you_mean(str(token), words)


def _unexpected_token(error: UnexpectedToken, text: str, path: str) -> Diagnostic:
    token = error.token
    ctx = _context(error)
    span = token_span(token)
    if token.type == "_NL":
        span = Span(span.line, span.column, span.line, span.column + 1)
    block = _open_block(ctx)
    starts_statement = ctx.after("_NL") and str(token) in STATEMENT_KEYWORDS.values()
    if block is not None and (starts_statement or token.type == "$END"):
        kind, brace = block
        closes = "after its last entry" if kind == "lookup" else "after its last line"
        return Diagnostic(
            path,
            token_span(brace),
            f"this {kind} block is never closed: expected `}}` on a line of its own {closes}",
        )
    if token.type == "RBRACE" and ctx.statement is None:
        return Diagnostic(path, span, "unexpected `}`: there is no open block to close")
    custom = _after_custom(ctx, str(token), _char_after(text, token.end_pos))
    if custom is not None:
        return Diagnostic(path, span, custom)
    message = f"expected {_expected_phrase(ctx)}, found {_show(token)}"
    return Diagnostic(path, span, message, hint=_keyword_hint(token, ctx))


def _unexpected_characters(error: UnexpectedCharacters, text: str, path: str) -> Diagnostic:
    char = error.char
    line, column = error.line, error.column
    if char == '"':
        end = text.find("\n", error.pos_in_stream)
        end = len(text) if end < 0 else end
        rest = text[error.pos_in_stream : end].rstrip("\r")
        return Diagnostic(
            path,
            Span(line, column, line, column + max(1, len(rest))),
            'unterminated string: add the closing `"`',
            hint="a string ends on the line it starts; write a line break as `\\n`",
        )
    span = Span(line, column, line, column + 1)
    if char == "\t":
        return Diagnostic(
            path, span, "a tab is not allowed here", hint="indent and separate words with spaces"
        )
    ctx = _context(error)
    custom = _after_custom(ctx, char, _char_after(text, (error.pos_in_stream or 0) + 1))
    if custom is not None:
        return Diagnostic(path, span, custom)
    return Diagnostic(
        path,
        span,
        f"unexpected character {_show_char(char)}: expected {_expected_phrase(ctx)}",
    )


def _char_after(text: str, position: int | None) -> str:
    if position is None or not 0 <= position < len(text):
        return ""
    return text[position]


def _after_custom(ctx: _Context, found: str, following: str) -> str | None:
    """`custom: color`, a bare `custom:`, or `custom:NAME` where no canonical name goes."""
    last = _last_token(ctx.items[-1]) if ctx.items else None
    if found != ":" or last is None or str(last) != "custom":
        return None
    if following.isalnum() or following == "_":
        return (
            f"a `custom:NAME` canonical field cannot stand here: expected {_expected_phrase(ctx)}"
        )
    return "expected a name right after `custom:` (no space), e.g. `custom:color`"


def describe(error: UnexpectedInput, text: str, path: str) -> Diagnostic:
    """One Lark syntax error as a diagnostic, pointing at the offending token."""
    if isinstance(error, UnexpectedCharacters):
        return _unexpected_characters(error, text, path)
    if isinstance(error, UnexpectedToken):
        return _unexpected_token(error, text, path)
    line = getattr(error, "line", 1) or 1
    column = getattr(error, "column", 1) or 1
    return Diagnostic(path, Span(line, column, line, column + 1), "unexpected end of the file")
