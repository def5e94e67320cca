"""Plain field lines read with a small scanner instead of the parser, for files with many fields.

A file of 20,000 fields is 220,000 tokens; Lark's LALR parser and the tree
transformer spend over 10 microseconds on each. Most field lines use a few
simple clauses whose meaning needs no parser: plain or dotted sources and
targets, steps with literal or name arguments, `default`, `= literal`, the
simple checks, `on invalid`/`on missing`. Those lines are taken out of the
text before parsing (left empty, so every other position stays where it was)
and read here into the FieldStmt, with the same nodes and spans, that the
parser and dsl/builder.py would give. Any other line (a comment, a quoted
name, an expression, a tab, a mistake) stays for the parser.

A line is taken only when each word stands where Lark's contextual lexer
reads it as this reader does: the keyword sets below are the ones the grammar
accepts at each place (tests/dsl/test_field_lines.py pins them against the
parser). The parser module uses this only when the rest of the file parses
and no taken line falls inside another statement; errors are always found on
the original text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal as Lit

from dsl.assembly import (
    CheckClause,
    ConstantClause,
    DefaultClause,
    FieldClause,
    MissingClause,
    PolicyClause,
    SourceClause,
    TargetClause,
    assemble_field,
)
from dsl.ast import (
    Check,
    CompareCheck,
    FieldStmt,
    LengthCheck,
    Literal,
    LiteralValue,
    MatchesCheck,
    Name,
    NamedCheck,
    RangeCheck,
    Span,
    Statement,
    Step,
)
from dsl.builder import COMPARE_OPS, StringProblem, decode_number, decode_string

# One token, after the spaces the grammar ignores: a word (`custom:` names and dotted paths
# included), a string, a number, or an operator. The string and number patterns are the
# grammar's STRING and NUMBER; two-character operators come before their one-character starts.
_TOKEN = re.compile(
    r" *(?:(?P<word>custom:[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*"
    r"(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r'|(?P<string>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<number>-?[0-9]+(?:\.[0-9]+)?)"
    r"|(?P<op>->|<-|>=|<=|\.\.|[|,()=<>]))"
)
_LINE_END = re.compile(r" *\r?")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD_START = re.compile(r" *(?:field|override) ")

# Keywords the grammar accepts where this reader expects a word: there the word is the keyword.
CLAUSE_WORDS = frozenset({"default", "check", "on"})
"""Words that start a clause (after the field's name, type, required flag or any clause)."""
AFTER_NAME_WORDS = CLAUSE_WORDS | {"required", "optional"}
"""Keywords right after the field's name: such a word is never its type."""
CHECK_WORDS = frozenset({"matches", "length", "in"})
"""Keywords right after `check`: such a word is never a named check."""
LITERAL_WORDS: dict[str, LiteralValue] = {"true": True, "false": False, "null": None}
"""Keywords where a literal may stand (a step argument, after `default` or `=`)."""

# A token: (kind, text, start column, end column), columns 1-based, end exclusive like Span.
# The kind is "word", "string", "number", or the operator itself.
_Token = tuple[str, str, int, int]


class _NotPlain(Exception):
    """The line is not one of the forms read here: the parser reads it."""


def _tokens(line: str) -> list[_Token] | None:
    """The line's tokens, or None when some text is not one of them (a comment, a tab...)."""
    tokens: list[_Token] = []
    position = 0
    end = len(line)
    match = _TOKEN.match
    while position < end:
        found = match(line, position)
        if found is None:
            return tokens if _LINE_END.fullmatch(line, position) else None
        kind = found.lastgroup
        assert kind is not None
        text = found.group(kind)
        start = found.start(kind)
        tokens.append((text if kind == "op" else kind, text, start + 1, found.end() + 1))
        position = found.end()
    return tokens


class _Reader:
    """A cursor over one line's tokens that builds the field's parts, or raises _NotPlain."""

    def __init__(self, tokens: list[_Token], line: int) -> None:
        self.tokens = tokens
        self.line = line
        self.index = 0

    def span(self, start: int, end: int) -> Span:
        return Span(self.line, start, self.line, end)

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next_kind(self) -> str:
        """The kind of the next token; empty at the end of the line."""
        return self.tokens[self.index][0] if self.index < len(self.tokens) else ""

    def take(self, kind: str) -> _Token:
        token = self.peek()
        if token is None or token[0] != kind:
            raise _NotPlain
        self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1] in words

    def name(self, token: _Token) -> Name:
        return Name(token[1], self.span(token[2], token[3]))

    def plain_word(self) -> _Token:
        token = self.take("word")
        if not _PLAIN.fullmatch(token[1]):
            raise _NotPlain
        return token

    def literal(self) -> Literal:
        """A string, a number, `true`, `false` or `null`."""
        token = self.peek()
        if token is None:
            raise _NotPlain
        kind, text, start, end = token
        value: LiteralValue
        if kind == "string":
            decoded = decode_string(text)
            if isinstance(decoded, StringProblem):
                raise _NotPlain
            value = decoded
        elif kind == "number":
            number = decode_number(text)
            if number is None:
                raise _NotPlain
            value = number
        elif kind == "word" and text in LITERAL_WORDS:
            value = LITERAL_WORDS[text]
        else:
            raise _NotPlain
        self.index += 1
        if self.next_kind() == "<-":
            # After a literal the lexer also looks for a comparison (a literal may start an
            # expression), and `<` wins over `<-`: the parser finds an error there.
            raise _NotPlain
        return Literal(value, self.span(start, end))

    def clause(self) -> FieldClause | Step:
        token = self.peek()
        assert token is not None
        kind, text, start, _ = token
        self.index += 1
        if kind == "<-":
            names = [self.name(self.source_word())]
            while self.next_kind() == ",":
                self.index += 1
                names.append(self.name(self.source_word()))
            return SourceClause(tuple(names), self.span(start, names[-1].span.end_column))
        if kind == "->":
            target = self.take("word")
            if target[1].startswith("custom:"):
                raise _NotPlain
            path, as_ = self.name(target), None
            if self.at_word("as"):
                self.index += 1
                as_ = self.name(self.plain_word())
            end = (as_ or path).span.end_column
            return TargetClause(path, self.span(start, end), as_)
        if kind == "|":
            return self.step(start)
        if kind == "=":
            value = self.literal()
            return ConstantClause(value, self.span(start, value.span.end_column))
        if kind == "word" and text == "default":
            value = self.literal()
            return DefaultClause(value, self.span(start, value.span.end_column))
        if kind == "word" and text == "check":
            check = self.check()
            return CheckClause(check, self.span(start, check.span.end_column))
        if kind == "word" and text == "on":
            which = self.plain_word()[1]
            choice = self.name(self.plain_word())
            span = self.span(start, choice.span.end_column)
            if which == "invalid":
                return PolicyClause(choice, span)
            if which == "missing":
                return MissingClause(choice, span)
        raise _NotPlain

    def source_word(self) -> _Token:
        token = self.take("word")
        if token[1].startswith("custom:"):
            raise _NotPlain
        return token

    def step(self, start: int) -> Step:
        name = self.name(self.plain_word())
        args: list[Literal | Name] = []
        end = name.span.end_column
        if self.next_kind() == "(":
            self.index += 1
            while True:
                token = self.peek()
                if token is None:
                    raise _NotPlain
                if token[0] == ")" and not args:
                    break
                if token[0] == "word" and token[1] not in LITERAL_WORDS:
                    args.append(self.name(self.plain_word()))
                else:
                    args.append(self.literal())
                if self.next_kind() != ",":
                    break
                self.index += 1
            end = self.take(")")[3]
        return Step(name, tuple(args), self.span(start, end))

    def check(self) -> Check:
        token = self.peek()
        if token is None:
            raise _NotPlain
        kind, text, start, _ = token
        if kind == "word" and text == "matches":
            self.index += 1
            if self.next_kind() != "string":
                raise _NotPlain
            pattern = self.literal()
            return MatchesCheck(pattern, self.span(start, pattern.span.end_column))
        if kind == "word" and text == "length":
            self.index += 1
            if self.next_kind() in ("<=", ">="):
                op = self.tokens[self.index][0]
                self.index += 1
                bound = self.number()
                span = self.span(start, bound.span.end_column)
                return (
                    LengthCheck(None, bound, span) if op == "<=" else LengthCheck(bound, None, span)
                )
            low, high = self.number_range()
            return LengthCheck(low, high, self.span(start, high.span.end_column))
        if kind in COMPARE_OPS:
            self.index += 1
            bound = self.number()
            return CompareCheck(COMPARE_OPS[kind], bound, self.span(start, bound.span.end_column))
        if kind == "number":
            low, high = self.number_range()
            return RangeCheck(low, high, self.span(start, high.span.end_column))
        if kind == "word" and text not in CHECK_WORDS:
            name = self.name(self.plain_word())
            return NamedCheck(name, name.span)
        raise _NotPlain

    def number(self) -> Literal:
        if self.next_kind() != "number":
            raise _NotPlain
        return self.literal()

    def number_range(self) -> tuple[Literal, Literal]:
        low = self.number()
        self.take("..")
        return low, self.number()


def read_field_line(line: str, number: int, path: str) -> FieldStmt | None:
    """The FieldStmt of a plain field line (line `number`), or None when the parser must read it.

    None too for a line whose field has a problem (a clause twice, no source):
    the parser's diagnostics report it.
    """
    tokens = _tokens(line)
    if not tokens:
        return None
    reader = _Reader(tokens, number)
    try:
        keyword = reader.plain_word()
        if keyword[1] not in ("field", "override"):
            return None
        name_token = reader.take("word")
        if "." in name_token[1]:
            return None
        name = reader.name(name_token)
        type_ = None
        if reader.next_kind() == "word" and not reader.at_word(*AFTER_NAME_WORDS):
            type_ = reader.name(reader.plain_word())
        required = required_span = None
        if reader.at_word("required", "optional"):
            flag = reader.plain_word()
            required, required_span = flag[1] == "required", reader.span(flag[2], flag[3])
        clauses: list[FieldClause] = []
        while reader.next_kind():
            clauses.append(reader.clause())
    except _NotPlain:
        return None
    span = Span(number, keyword[2], number, tokens[-1][3])
    kind: Lit["field", "override"] = "field" if keyword[1] == "field" else "override"
    node, problems = assemble_field(path, kind, name, type_, required, required_span, clauses, span)
    return None if problems else node


def take_field_lines(source: str, path: str) -> tuple[str, list[FieldStmt]]:
    """The source with its plain field lines emptied, and the FieldStmts read from them."""
    lines = source.split("\n")
    fields: list[FieldStmt] = []
    for index, line in enumerate(lines):
        if not _FIELD_START.match(line):
            continue
        field = read_field_line(line, index + 1, path)
        if field is None:
            continue
        fields.append(field)
        lines[index] = "\r" if line.endswith("\r") else ""
    return "\n".join(lines), fields


def put_back_fields(
    statements: Sequence[Statement], fields: list[FieldStmt]
) -> tuple[Statement, ...] | None:
    """The statements with each taken field in its place by line.

    None when a taken line lies inside a statement the parser found (a block
    that the line was part of): the caller then parses the original text.
    """
    if not fields:
        return tuple(statements)
    result: list[Statement] = []
    position = 0
    for stmt in statements:
        while position < len(fields) and fields[position].span.line < stmt.span.line:
            result.append(fields[position])
            position += 1
        if position < len(fields) and fields[position].span.line <= stmt.span.end_line:
            return None
        result.append(stmt)
    result.extend(fields[position:])
    return tuple(result)
