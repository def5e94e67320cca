"""One canonical layout for `.map` files (`siesa map fmt`), keeping every comment.

Statements stay in the order written; within a field the clauses take the
order of docs/mapping-language.md; an example's lines become `in`, `expect
canonical`, `expect product`, `expect product contains`, `expect reject`,
`expect warning`. Strings keep a `\\uXXXX` escape for every character a reader
could not see (controls, format characters such as U+200B or U+202E, spaces
other than the plain one), so `fmt` never turns a visible escape into an
invisible character. Blank lines between statements
are kept (several become one); inside blocks there are none. A comment on its
own line stays before what it preceded; a comment after code stays on that line.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from dsl.ast import (
    Binary,
    Call,
    Check,
    ColumnRef,
    ColumnStmt,
    Comment,
    CompareCheck,
    EachStmt,
    EveryStringStmt,
    Example,
    Expr,
    FieldStmt,
    Group,
    InCheck,
    JsonNumber,
    LengthCheck,
    Literal,
    LiteralValue,
    LookupStmt,
    MapFile,
    MappingStmt,
    MatchesCheck,
    Name,
    NamedCheck,
    RangeCheck,
    RemoveStmt,
    RuleStmt,
    Statement,
    Step,
    TimezoneStmt,
    Unary,
    VersionStmt,
    When,
)
from dsl.parser import parse

INDENT = "  "


LATEST_VERSION = 2


def format_source(source: str, path: str, *, upgrade: bool = False) -> str:
    """The canonical text of a `.map` file; raises MapError when it does not parse.

    `upgrade` also rewrites `version 1` to `version 2`: the only migration
    there is, since version 2 is a superset of version 1.
    """
    return format_map(parse(source, path), upgrade=upgrade)


def format_map(mapfile: MapFile, *, upgrade: bool = False) -> str:
    """The canonical text of a parsed file (its comments come from `mapfile.comments`)."""
    statements = mapfile.statements
    if upgrade:
        statements = tuple(_upgraded(statement) for statement in statements)
    rows = [row for statement in statements for row in _statement_rows(statement)]
    tail = _attach_comments(rows, mapfile.comments, mapfile.source.split("\n"))
    lines = _layout(rows, tail)
    return "\n".join(lines) + "\n" if lines else ""


def _upgraded(statement: Statement) -> Statement:
    """`version 1` as `version 2`; any other statement as it is."""
    if isinstance(statement, VersionStmt) and statement.version.value == 1:
        version = Literal(LATEST_VERSION, statement.version.span)
        return VersionStmt(version, statement.span)
    return statement


# --- rows: one output line each, remembering the source lines it came from ----------------


@dataclass(slots=True)
class _Row:
    """One line of output: its text and the source lines it stands for."""

    text: str
    first: int
    last: int
    indent: str = ""
    top_level: bool = True
    closes_block: bool = False
    order: int = 0
    before: list[Comment] = field(default_factory=list)
    trailing: list[Comment] = field(default_factory=list)


def _statement_rows(statement: Statement) -> list[_Row]:
    """The rows of one statement, in output order."""
    span = statement.span
    if isinstance(statement, LookupStmt):
        rows = [_Row(f"lookup {statement.name.text} {{", span.line, span.line)]
        rows += [
            _Row(
                f"{_literal(entry.key)} -> {_literal(entry.value)}",
                entry.span.line,
                entry.span.end_line,
                INDENT,
                top_level=False,
            )
            for entry in statement.entries
        ]
        return [*rows, _Row("}", span.end_line, span.end_line, closes_block=True)]
    if isinstance(statement, Example):
        return [
            _Row(f"example {_literal(statement.name)} {{", span.line, span.line),
            *_example_rows(statement),
            _Row("}", span.end_line, span.end_line, closes_block=True),
        ]
    return [_Row(_single_line(statement), span.line, span.end_line)]


def _example_rows(example: Example) -> list[_Row]:
    rows: list[_Row] = []
    values = (
        ("in", example.input),
        ("expect canonical", example.expect_canonical),
        ("expect product", example.expect_product),
        ("expect product contains", example.expect_product_contains),
        ("expect products", example.expect_products),
    )
    for order, (words, value) in enumerate(values):
        if value is not None:
            text = f"{words} {json_text(value.value)}"
            rows.append(
                _Row(text, value.span.line, value.span.end_line, INDENT, False, order=order)
            )
    named = (("expect reject", example.expect_reject), ("expect warning", example.expect_warning))
    for order, (words, names) in enumerate(named, start=len(values)):
        if names:
            text = f"{words} " + ", ".join(name.text for name in names)
            rows.append(
                _Row(text, names[0].span.line, names[-1].span.end_line, INDENT, False, order=order)
            )
        elif names is not None and example.expect_reject_span is not None:  # by a record rule
            line = example.expect_reject_span.line
            rows.append(_Row(words, line, line, INDENT, False, order=order))
    if example.expect_skip is not None:
        line = example.expect_skip.line
        rows.append(_Row("expect skip", line, line, INDENT, False, order=len(values) + len(named)))
    return rows


def _single_line(statement: Statement) -> str:
    if isinstance(statement, VersionStmt):
        return f"version {_literal(statement.version)}"
    if isinstance(statement, MappingStmt):
        if statement.extends is not None:
            return f"mapping {statement.name.text} extends {_literal(statement.extends)}"
        product = statement.product.text if statement.product is not None else ""
        return f"mapping {statement.name.text} for {product}"
    if isinstance(statement, TimezoneStmt):
        return f"timezone {_literal(statement.zone)}"
    if isinstance(statement, EveryStringStmt):
        return " ".join(["every string", *(f"| {_step(step)}" for step in statement.steps)])
    if isinstance(statement, RemoveStmt):
        return f"remove {statement.name.text}"
    if isinstance(statement, FieldStmt):
        return _field(statement)
    if isinstance(statement, ColumnStmt):
        text = f"column {statement.name.text} {statement.type.text}"
        source = statement.source
        if isinstance(source, Literal):
            return f"{text} <- {_literal(source)}"
        return text if source is None else f"{text} <- {source.text}"
    if isinstance(statement, RuleStmt):
        return rule_text(statement)
    if isinstance(statement, EachStmt):
        if statement.array is not None:
            return f"each {statement.var.text} in {statement.array.text}"
        objects = (
            "{" + ", ".join(f"{key.text}: {expr_text(value)}" for key, value in item.pairs) + "}"
            for item in statement.objects
        )
        return f"each {statement.var.text} in " + ", ".join(objects)
    raise TypeError(f"no layout for {type(statement).__name__}")  # pragma: no cover


def _field(stmt: FieldStmt) -> str:
    """`field NAME TYPE required|optional SOURCE -> TARGET | steps default X check ... on invalid P`."""
    parts = [stmt.kind, stmt.name.text]
    if stmt.type is not None:
        parts.append(stmt.type.text)
    if stmt.required is not None:
        parts.append("required" if stmt.required else "optional")
    if stmt.sources:
        parts.append("<- " + ", ".join(name.text for name in stmt.sources))
    if stmt.constant is not None:
        parts.append(f"= {_literal(stmt.constant)}")
    if stmt.expression is not None:
        parts.append(f"= {expr_text(stmt.expression)}")
    if stmt.target is not None:
        parts.append(f"-> {stmt.target.text}")
        if stmt.target_as is not None:
            parts.append(f"as {stmt.target_as.text}")
    parts.extend(f"| {_step(step)}" for step in stmt.steps or ())
    if stmt.default is not None:
        parts.append(f"default {_literal(stmt.default)}")
    parts.extend(f"check {check_text(check)}" for check in stmt.checks or ())
    if stmt.policy is not None:
        parts.append(f"on invalid {stmt.policy.text}")
    if stmt.on_missing is not None:
        parts.append(f"on missing {stmt.on_missing.text}")
    return " ".join(parts)


def rule_text(rule: RuleStmt) -> str:
    """`skip when COND` / `reject when COND because "MESSAGE"`, as `fmt` writes it."""
    text = f"{rule.kind} when {expr_text(rule.condition)}"
    return text if rule.message is None else f"{text} because {_literal(rule.message)}"


def expr_text(expr: Expr) -> str:
    """An expression as `fmt` writes it: one space around binary operators, parentheses as written."""
    if isinstance(expr, Literal):
        return _literal(expr)
    if isinstance(expr, ColumnRef):
        return expr.name.text
    if isinstance(expr, Binary):
        return f"{expr_text(expr.left)} {expr.op} {expr_text(expr.right)}"
    if isinstance(expr, Unary):
        operand = expr_text(expr.operand)
        return f"not {operand}" if expr.op == "not" else f"-{operand}"
    if isinstance(expr, Call):
        args = [expr_text(arg) for arg in expr.args]
        args += [f"{option.name.text}={option.value.text}" for option in expr.options]
        return f"{expr.function.text}({', '.join(args)})"
    if isinstance(expr, Group):
        return f"({expr_text(expr.inner)})"
    assert isinstance(expr, When)
    parts = [f"when {expr_text(b.condition)} then {expr_text(b.value)}" for b in expr.branches]
    if expr.otherwise is not None:
        parts.append(f"else {expr_text(expr.otherwise)}")
    return " ".join(parts)


def _step(step: Step) -> str:
    if not step.args:
        return step.name.text
    args = ", ".join(arg.text if isinstance(arg, Name) else _literal(arg) for arg in step.args)
    return f"{step.name.text}({args})"


def check_text(check: Check) -> str:
    """A check as written after `check`."""
    if isinstance(check, MatchesCheck):
        return f"matches {_literal(check.pattern)}"
    if isinstance(check, NamedCheck):
        return check.name.text
    if isinstance(check, CompareCheck):
        return f"{check.op} {_literal(check.bound)}"
    if isinstance(check, RangeCheck):
        return f"{_literal(check.low)}..{_literal(check.high)}"
    if isinstance(check, LengthCheck):
        if check.low is not None and check.high is not None:
            return f"length {_literal(check.low)}..{_literal(check.high)}"
        if check.high is not None:
            return f"length <= {_literal(check.high)}"
        assert check.low is not None
        return f"length >= {_literal(check.low)}"
    assert isinstance(check, InCheck)
    return "in [" + ", ".join(_literal(value) for value in check.values) + "]"


def _literal(literal: Literal) -> str:
    return literal_text(literal.value)


def literal_text(value: LiteralValue) -> str:
    """A literal as the language writes it: JSON strings, plain-notation numbers, true/false/null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, int):
        return str(value)
    return json_text(value)


_PLAIN_CATEGORIES = frozenset({"L", "M", "N", "P", "S"})


def _escaped(char: str) -> str:
    """A character a reader cannot see as `\\uXXXX` (a surrogate pair above U+FFFF), else itself."""
    if char == " " or unicodedata.category(char)[0] in _PLAIN_CATEGORIES:
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(value: object) -> str:
    """JSON as the language writes it: readable text, invisible and control characters escaped.

    Outside strings JSON holds only ASCII, so escaping every such character of
    the dumped text touches strings (keys and values) only.
    """
    text = _json_dumps(value)
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escaped(char) for char in text)


def _json_dumps(value: object) -> str:
    """`json.dumps(value)`, except that an example's JsonNumber is written as it was written."""
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, dict):
        items = (f"{_json_dumps(key)}: {_json_dumps(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json_dumps(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# --- comments ------------------------------------------------------------------------------


def _attach_comments(
    rows: list[_Row], comments: tuple[Comment, ...], source_lines: list[str]
) -> list[Comment]:
    """Give each comment to the row it trails or precedes; return those after the last row."""
    by_position = sorted(rows, key=lambda row: (row.first, row.last))
    tail: list[Comment] = []
    for comment in comments:
        line = comment.span.line
        code_before = source_lines[line - 1][: comment.span.column - 1].strip()
        holder = next((row for row in by_position if row.first <= line <= row.last), None)
        if code_before and holder is not None:
            holder.trailing.append(comment)
            continue
        following = next((row for row in by_position if row.last >= line), None)
        if following is None:
            tail.append(comment)
        else:
            following.before.append(comment)
    return tail


def _comment_text(comment: Comment) -> str:
    return comment.text.rstrip()


def _layout(rows: list[_Row], tail: list[Comment]) -> list[str]:
    """Rows and comments as lines, with one blank line wherever the source had some."""
    lines: list[str] = []
    previous_last: int | None = None  # last source line of the previous top-level item

    def gap_before(first: int) -> None:
        if previous_last is not None and first > previous_last + 1:
            lines.append("")

    for row in _in_output_order(rows):
        comment_indent = INDENT if (row.closes_block or not row.top_level) else ""
        own_line = row.before + row.trailing[:-1]
        for comment in own_line:
            if row.top_level and not row.closes_block:
                gap_before(comment.span.line)
                previous_last = comment.span.line
            lines.append(comment_indent + _comment_text(comment))
        if row.top_level and not row.closes_block:
            gap_before(row.first)
        text = row.indent + row.text
        if row.trailing:
            text += "  " + _comment_text(row.trailing[-1])
        lines.append(text)
        if row.top_level:
            previous_last = row.last
    for comment in tail:
        gap_before(comment.span.line)
        previous_last = comment.span.line
        lines.append(_comment_text(comment))
    return lines


def _in_output_order(rows: list[_Row]) -> list[_Row]:
    """Rows as emitted: statements as written, an example's lines in canonical order."""
    ordered: list[_Row] = []
    block: list[_Row] = []
    for row in rows:
        if row.top_level:
            ordered.extend(sorted(block, key=lambda r: r.order))
            block = []
            ordered.append(row)
        else:
            block.append(row)
    ordered.extend(sorted(block, key=lambda r: r.order))
    return ordered
