"""Lark parse tree -> typed AST (dsl/ast.py): one method per grammar rule, nothing else.

Problems only visible once a token is decoded (a bad string escape, a JSON key
given twice, a clause given twice) are collected in `diagnostics` instead of
raised, so that one pass reports all of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from typing import Literal as Lit

from lark import Token, Transformer, v_args
from lark.tree import Meta

from dsl.assembly import (
    CheckClause,
    ConstantClause,
    DefaultClause,
    ExampleLine,
    ExpressionClause,
    FieldClause,
    FieldsLine,
    MissingClause,
    PolicyClause,
    SourceClause,
    TargetClause,
    assemble_example,
    assemble_field,
)
from dsl.ast import (
    Binary,
    Call,
    ColumnRef,
    ColumnStmt,
    CompareCheck,
    EachObject,
    EachStmt,
    EveryStringStmt,
    Expr,
    Group,
    InCheck,
    JsonNumber,
    JsonValue,
    LengthCheck,
    Literal,
    LiteralValue,
    LookupEntry,
    LookupStmt,
    MappingStmt,
    MatchesCheck,
    Name,
    NamedCheck,
    Option,
    RangeCheck,
    RemoveStmt,
    RuleStmt,
    Span,
    Statement,
    Step,
    TimezoneStmt,
    Unary,
    VersionStmt,
    When,
    WhenBranch,
)
from dsl.diagnostics import Diagnostic
from dsl.paths import split_path

COMPARE_OPS: dict[str, Lit[">=", ">", "<=", "<"]] = {">=": ">=", ">": ">", "<=": "<=", "<": "<"}
_JSON_INT = re.compile(r"0|-?[1-9][0-9]*")
"""A JSON number read as an int; any other (`-0`, `12.50`, `1e3`) is a JsonNumber, as written."""
_MAX_EXPONENT = 308
_MIN_EXPONENT = -400
"""Exponents a JSON number of an example may have: a float's range, subnormals included."""
"""A number beyond a double's range is refused, as it was when examples were read as floats."""
ESCAPES_HINT = 'strings use JSON escapes: `\\"`, `\\\\`, `\\n`, `\\t`, `\\uXXXX`'


@dataclass(frozen=True, slots=True)
class StringProblem:
    """Why a string literal's text could not be decoded, as a diagnostic says it."""

    message: str
    hint: str


def decode_string(text: str) -> str | StringProblem:
    """The value of a STRING token's text (JSON escapes), or why it has none."""
    try:
        value = json.loads(text, strict=False)
    except ValueError:
        return StringProblem("invalid escape in string", ESCAPES_HINT)
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        return StringProblem(
            "this string holds half of a `\\uXXXX` surrogate pair",
            "write the character itself, or both halves of the pair",
        )
    assert isinstance(value, str)
    return value


def decode_number(text: str) -> int | Decimal | None:
    """The value of a NUMBER token's text; None when it is longer than Python's int limit."""
    if "." in text:
        return Decimal(text)
    try:
        return int(text)
    except ValueError:
        return None


def token_span(token: Token) -> Span:
    """The span of one token (Lark columns are 1-based, end exclusive, like ours)."""
    line = token.line or 1
    column = token.column or 1
    end_line = token.end_line or line
    end_column = token.end_column or column + len(token.value)
    return Span(line, column, end_line, end_column)


def meta_span(meta: Meta) -> Span:
    """The span of a rule's match."""
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


@v_args(meta=True)
class AstBuilder(Transformer[Token, Any]):
    """Builds AST nodes; `diagnostics` holds what could not be decoded or assembled."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def _report(self, span: Span, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(self.path, span, message, hint=hint))

    # --- tokens -------------------------------------------------------------

    def _name(self, token: Token) -> Name:
        return Name(str(token), token_span(token))

    def _string(self, token: Token) -> str:
        value = decode_string(str(token))
        if isinstance(value, StringProblem):
            self._report(token_span(token), value.message, hint=value.hint)
            return str(token)[1:-1]
        return value

    def _literal_value(self, token: Token) -> LiteralValue:
        kind = token.type
        if kind == "STRING":
            return self._string(token)
        if kind == "NUMBER":
            number = decode_number(str(token))
            if number is None:
                self._report(token_span(token), "this number has too many digits")
                return 0
            return number
        return {"TRUE": True, "FALSE": False, "NULL": None}[kind]

    def _json_scalar(self, token: Token) -> object:
        kind = token.type
        if kind == "STRING":
            return self._string(token)
        if kind == "JSON_NUMBER":
            text = str(token)
            if _JSON_INT.fullmatch(text):
                try:
                    return int(text)
                except ValueError:  # longer than Python's int conversion limit
                    self._report(token_span(token), "this number has too many digits")
                    return 0
            number = JsonNumber(text)
            if not number.is_finite() or number.adjusted() > _MAX_EXPONENT:
                self._report(token_span(token), f"the number `{token}` is too large")
                return 0
            if number.adjusted() < _MIN_EXPONENT:
                self._report(token_span(token), f"the number `{token}` is too small to be read")
                return 0
            return number
        return {"TRUE": True, "FALSE": False, "NULL": None}[kind]

    # --- file ---------------------------------------------------------------

    def start(self, meta: Meta, children: list[Statement]) -> tuple[Statement, ...]:
        return tuple(children)

    # --- header statements --------------------------------------------------

    def version_stmt(self, meta: Meta, children: list[Token]) -> VersionStmt:
        (number,) = children
        return VersionStmt(
            Literal(self._literal_value(number), token_span(number)), meta_span(meta)
        )

    def mapping_for(self, meta: Meta, children: list[Token]) -> MappingStmt:
        name, product = children
        return MappingStmt(self._name(name), self._name(product), None, meta_span(meta))

    def mapping_extends(self, meta: Meta, children: list[Token]) -> MappingStmt:
        name, base = children
        extends = Literal(self._string(base), token_span(base))
        return MappingStmt(self._name(name), None, extends, meta_span(meta))

    def timezone_stmt(self, meta: Meta, children: list[Token]) -> TimezoneStmt:
        (zone,) = children
        return TimezoneStmt(Literal(self._string(zone), token_span(zone)), meta_span(meta))

    def every_stmt(self, meta: Meta, children: list[Step]) -> EveryStringStmt:
        return EveryStringStmt(tuple(children), meta_span(meta))

    # --- lookups ------------------------------------------------------------

    def lookup_stmt(self, meta: Meta, children: list[Any]) -> LookupStmt:
        name, *entries = children
        return LookupStmt(self._name(name), tuple(entries), meta_span(meta))

    def lookup_entry(self, meta: Meta, children: list[Token]) -> LookupEntry:
        key, value = children
        return LookupEntry(
            Literal(self._string(key), token_span(key)),
            Literal(self._string(value), token_span(value)),
            meta_span(meta),
        )

    # --- fields -------------------------------------------------------------

    def field_stmt(self, meta: Meta, children: list[Any]) -> Any:
        keyword, name, type_token, required_token, *clauses = children
        clause_list: list[FieldClause] = clauses
        node, problems = assemble_field(
            self.path,
            "field" if keyword.type == "FIELD" else "override",
            name,
            None if type_token is None else self._name(type_token),
            None if required_token is None else required_token.type == "REQUIRED",
            None if required_token is None else token_span(required_token),
            clause_list,
            meta_span(meta),
        )
        self.diagnostics.extend(problems)
        return node

    def remove_stmt(self, meta: Meta, children: list[Name]) -> RemoveStmt:
        (name,) = children
        return RemoveStmt(name, meta_span(meta))

    def canonical(self, meta: Meta, children: list[Token]) -> Name:
        (token,) = children
        return self._name(token)

    def _path(self, token: Token, what: str) -> Name:
        """A source or target as written; a quoted key with a bad escape is reported."""
        if token.type != "NAME" and split_path(str(token)) is None:
            self._report(token_span(token), f"invalid escape in a quoted {what}", hint=ESCAPES_HINT)
        return self._name(token)

    def source_clause(self, meta: Meta, children: list[Token]) -> SourceClause:
        names = tuple(self._path(token, "source") for token in children)
        return SourceClause(names, meta_span(meta))

    def constant_clause(
        self, meta: Meta, children: list[Expr]
    ) -> ConstantClause | ExpressionClause:
        (value,) = children
        if isinstance(value, Literal):
            return ConstantClause(value, meta_span(meta))
        return ExpressionClause(value, meta_span(meta))

    def target_clause(self, meta: Meta, children: list[Token | None]) -> TargetClause:
        path, as_word = children
        assert path is not None
        as_ = None if as_word is None else self._name(as_word)
        return TargetClause(self._path(path, "target"), meta_span(meta), as_)

    def missing_clause(self, meta: Meta, children: list[Token]) -> MissingClause:
        (choice,) = children
        return MissingClause(self._name(choice), meta_span(meta))

    def default_clause(self, meta: Meta, children: list[Literal]) -> DefaultClause:
        (value,) = children
        return DefaultClause(value, meta_span(meta))

    def check_clause(self, meta: Meta, children: list[Any]) -> CheckClause:
        (check,) = children
        return CheckClause(check, meta_span(meta))

    def policy_clause(self, meta: Meta, children: list[Token]) -> PolicyClause:
        (policy,) = children
        return PolicyClause(self._name(policy), meta_span(meta))

    def step(self, meta: Meta, children: list[Any]) -> Step:
        name, args = children
        return Step(self._name(name), tuple(args or ()), meta_span(meta))

    def step_args(self, meta: Meta, children: list[Any]) -> list[Literal | Name]:
        return [
            self._name(child) if isinstance(child, Token) else child
            for child in children
            if child is not None
        ]

    def literal(self, meta: Meta, children: list[Token]) -> Literal:
        (token,) = children
        return Literal(self._literal_value(token), token_span(token))

    # --- version 2: columns, rules, each, expressions -----------------------

    def dotted_name(self, meta: Meta, children: list[Token]) -> Name:
        return Name(".".join(str(token) for token in children), meta_span(meta))

    def column_stmt(self, meta: Meta, children: list[Any]) -> ColumnStmt:
        name, type_token, source = children
        if isinstance(source, Token):
            source = Literal(self._string(source), token_span(source))
        return ColumnStmt(name, self._name(type_token), source, meta_span(meta))

    def skip_stmt(self, meta: Meta, children: list[Expr]) -> RuleStmt:
        (condition,) = children
        return RuleStmt("skip", condition, None, meta_span(meta))

    def reject_stmt(self, meta: Meta, children: list[Any]) -> RuleStmt:
        condition, message = children
        literal = Literal(self._string(message), token_span(message))
        return RuleStmt("reject", condition, literal, meta_span(meta))

    def each_stmt(self, meta: Meta, children: list[Any]) -> EachStmt:
        var, *rest = children
        if len(rest) == 1 and isinstance(rest[0], Name):
            return EachStmt(self._name(var), rest[0], (), meta_span(meta))
        return EachStmt(self._name(var), None, tuple(rest), meta_span(meta))

    def each_object(self, meta: Meta, children: list[Any]) -> EachObject:
        pairs = tuple(child for child in children if child is not None)
        return EachObject(pairs, meta_span(meta))

    def each_pair(self, meta: Meta, children: list[Any]) -> tuple[Name, Expr]:
        key, value = children
        return self._name(key), value

    def when_expr(self, meta: Meta, children: list[Any]) -> When:
        *branches, otherwise = children
        return When(tuple(branches), otherwise, meta_span(meta))

    def when_branch(self, meta: Meta, children: list[Expr]) -> WhenBranch:
        condition, value = children
        return WhenBranch(condition, value, meta_span(meta))

    def binary(self, meta: Meta, children: list[Any]) -> Binary:
        left, op, right = children
        return Binary(str(op), token_span(op), left, right, meta_span(meta))

    def unary(self, meta: Meta, children: list[Any]) -> Unary:
        op, operand = children
        return Unary(str(op), token_span(op), operand, meta_span(meta))

    def column_ref(self, meta: Meta, children: list[Name]) -> ColumnRef:
        (name,) = children
        return ColumnRef(name, meta_span(meta))

    def call(self, meta: Meta, children: list[Any]) -> Call:
        function, *args = children
        present = [arg for arg in args if arg is not None]
        options = tuple(arg for arg in present if isinstance(arg, Option))
        values = tuple(arg for arg in present if not isinstance(arg, Option))
        return Call(self._name(function), values, options, meta_span(meta))

    def option(self, meta: Meta, children: list[Token]) -> Option:
        name, value = children
        return Option(self._name(name), self._name(value), meta_span(meta))

    def group(self, meta: Meta, children: list[Expr]) -> Group:
        (inner,) = children
        return Group(inner, meta_span(meta))

    # --- checks -------------------------------------------------------------

    def matches_check(self, meta: Meta, children: list[Token]) -> MatchesCheck:
        (pattern,) = children
        return MatchesCheck(Literal(self._string(pattern), token_span(pattern)), meta_span(meta))

    def named_check(self, meta: Meta, children: list[Token]) -> NamedCheck:
        (name,) = children
        return NamedCheck(self._name(name), meta_span(meta))

    def compare_check(self, meta: Meta, children: list[Token]) -> CompareCheck:
        op, bound = children
        value = Literal(self._literal_value(bound), token_span(bound))
        return CompareCheck(COMPARE_OPS[str(op)], value, meta_span(meta))

    def range_check(self, meta: Meta, children: list[Token]) -> RangeCheck:
        low, high = children
        return RangeCheck(
            Literal(self._literal_value(low), token_span(low)),
            Literal(self._literal_value(high), token_span(high)),
            meta_span(meta),
        )

    def length_range_check(self, meta: Meta, children: list[Token]) -> LengthCheck:
        low, high = children
        return LengthCheck(
            Literal(self._literal_value(low), token_span(low)),
            Literal(self._literal_value(high), token_span(high)),
            meta_span(meta),
        )

    def length_bound_check(self, meta: Meta, children: list[Token]) -> LengthCheck:
        op, bound = children
        value = Literal(self._literal_value(bound), token_span(bound))
        if str(op) not in ("<=", ">="):
            self._report(
                token_span(op),
                f"`check length` takes `<=` or `>=`, not `{op}`",
                hint="write `check length N..M`, `check length <= M` or `check length >= N`",
            )
        if str(op).startswith("<"):
            return LengthCheck(None, value, meta_span(meta))
        return LengthCheck(value, None, meta_span(meta))

    def in_check(self, meta: Meta, children: list[Literal]) -> InCheck:
        return InCheck(tuple(children), meta_span(meta))

    # --- examples -----------------------------------------------------------

    def example_stmt(self, meta: Meta, children: list[Any]) -> Any:
        name_token, *lines = children
        name = Literal(self._string(name_token), token_span(name_token))
        span = meta_span(meta)
        header = Span(span.line, span.column, name.span.end_line, name.span.end_column)
        node, problems = assemble_example(self.path, name, lines, header, span)
        self.diagnostics.extend(problems)
        return node

    def example_input(self, meta: Meta, children: list[JsonValue]) -> ExampleLine:
        return ExampleLine("in", children[0], meta_span(meta))

    def expect_canonical(self, meta: Meta, children: list[JsonValue]) -> ExampleLine:
        return ExampleLine("canonical", children[0], meta_span(meta))

    def expect_product(self, meta: Meta, children: list[JsonValue]) -> ExampleLine:
        return ExampleLine("product", children[0], meta_span(meta))

    def expect_product_contains(self, meta: Meta, children: list[JsonValue]) -> ExampleLine:
        return ExampleLine("product contains", children[0], meta_span(meta))

    def expect_reject(self, meta: Meta, children: list[Name | None]) -> FieldsLine:
        names = tuple(child for child in children if child is not None)
        return FieldsLine("reject", names, meta_span(meta))

    def expect_warning(self, meta: Meta, children: list[Name]) -> FieldsLine:
        return FieldsLine("warning", tuple(children), meta_span(meta))

    def expect_skip(self, meta: Meta, children: list[Any]) -> FieldsLine:
        return FieldsLine("skip", (), meta_span(meta))

    def expect_products(self, meta: Meta, children: list[JsonValue]) -> ExampleLine:
        return ExampleLine("products", children[0], meta_span(meta))

    # --- JSON ---------------------------------------------------------------

    def json(self, meta: Meta, children: list[Any]) -> JsonValue:
        (child,) = children
        value = self._json_scalar(child) if isinstance(child, Token) else child
        return JsonValue(value, meta_span(meta))

    def json_object(
        self, meta: Meta, children: list[tuple[str, JsonValue, Span] | None]
    ) -> dict[str, object]:
        result: dict[str, object] = {}
        for pair in children:
            if pair is None:
                continue
            key, value, key_span = pair
            if key in result:
                self._report(
                    key_span,
                    f"the key {json.dumps(key, ensure_ascii=False)} appears twice in this object",
                )
            result[key] = value.value
        return result

    def json_pair(self, meta: Meta, children: list[Any]) -> tuple[str, JsonValue, Span]:
        key, value = children
        return self._string(key), value, token_span(key)

    def json_array(self, meta: Meta, children: list[JsonValue | None]) -> list[object]:
        return [child.value for child in children if child is not None]
