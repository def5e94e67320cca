"""The Lark parser for `.map` files, built once, and the lexing rules the grammar cannot say.

Two things live outside `grammar.lark`: newlines inside the JSON values of an
example block are not statement ends (a post-lexer drops them), and `#`
comments are ignored by the parser but collected for the formatter (a lexer
callback appends them to the list of the parse in progress).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from lark import Lark, Token
from lark.lexer import PatternStr

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")

# Token types after which a `{` or `[` opens a JSON value rather than a block.
_JSON_AFTER = frozenset({"CANONICAL", "PRODUCT", "CONTAINS", "PRODUCTS"})
_OPEN = frozenset({"LBRACE", "LSQB"})
_CLOSE = frozenset({"RBRACE", "RSQB"})

_comment_sink: contextvars.ContextVar[list[Token] | None] = contextvars.ContextVar(
    "map_comment_sink", default=None
)


class JsonNewlines:
    """Post-lexer: inside a JSON value (`in {...}`, `expect ... [...]`) a newline is only spacing.

    It also makes every parser state lex NAME and `_NL`: a keyword is then only
    matched as a whole word (`fieldx` is one unknown name, not `field` + `x`),
    and a newline where a statement cannot end is a parse error, not a lex error.
    """

    always_accept = ("_NL", "NAME")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        """Drop `_NL` tokens while a JSON bracket is open; pass everything else through."""
        depth = 0
        previous = ""
        before_previous = ""
        for token in stream:
            if token.type in _OPEN:
                if depth or _starts_json(before_previous, previous):
                    depth += 1
            elif token.type in _CLOSE:
                depth = max(0, depth - 1)
            elif token.type == "_NL" and depth:
                continue
            before_previous, previous = previous, token.type
            yield token


def _starts_json(before_previous: str, previous: str) -> bool:
    """`expect canonical {`, `expect product [`, or `in {` at the start of an example's line.

    `check in [...]` is not JSON: its list must close on its own line.
    """
    return previous in _JSON_AFTER or (previous == "IN" and before_previous == "_NL")


def _collect_comment(token: Token) -> Token:
    """Lexer callback: keep the comment for the parse in progress (the parser ignores it)."""
    sink = _comment_sink.get()
    if sink is not None:
        sink.append(token)
    return token


class CommentCollector:
    """`with CommentCollector() as comments:` gathers the comments lexed inside the block."""

    def __init__(self) -> None:
        self.comments: list[Token] = []
        self._reset: contextvars.Token[list[Token] | None] | None = None

    def __enter__(self) -> list[Token]:
        self._reset = _comment_sink.set(self.comments)
        return self.comments

    def __exit__(self, *exc_info: object) -> None:
        if self._reset is not None:
            _comment_sink.reset(self._reset)


@cache
def lark_parser() -> Lark:
    """The LALR parser of `grammar.lark`; building it takes a while, so it is built once."""
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=JsonNewlines(),
        lexer_callbacks={"COMMENT": _collect_comment},
    )


@cache
def keyword_spellings() -> dict[str, str]:
    """Terminal name -> its fixed text (`FIELD` -> `field`, `_RARROW` -> `->`), for messages."""
    return {
        terminal.name: terminal.pattern.value
        for terminal in lark_parser().terminals
        if isinstance(terminal.pattern, PatternStr)
    }
