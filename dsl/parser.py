"""`.map` source -> MapFile, or a MapError holding every syntax error of the file.

The whole file is parsed first. When that fails, each statement is parsed on
its own (dsl/recovery.py) so that the user sees all errors at once, not one
per run. No Lark exception leaves this module.
"""

from __future__ import annotations

from pathlib import Path

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedInput, VisitError

from dsl.ast import Comment, MapFile, Span, Statement
from dsl.builder import AstBuilder, token_span
from dsl.diagnostics import Diagnostic, MapError
from dsl.field_lines import put_back_fields, read_field_line, take_field_lines
from dsl.lookup_lines import put_back, take_plain_entries
from dsl.recovery import blank_out, block_entry_ranges, isolate, statement_line_ranges
from dsl.source_text import decode_map_bytes
from dsl.syntax import CommentCollector, lark_parser
from dsl.syntax_errors import describe

_FIRST_CHAR = Span(1, 1, 1, 2)


def parse(source: str, path: str) -> MapFile:
    """Parse one `.map` file; `path` is only used to name the file in diagnostics.

    Plain lookup entries and plain field lines are read apart from the parser
    (dsl/lookup_lines.py, dsl/field_lines.py) when the rest of the file parses; otherwise the original text is parsed,
    so that every error is found and placed as the parser sees it. A byte
    order mark at the start is not part of the text.
    """
    source = source.removeprefix("\ufeff")
    shortened, entries = take_plain_entries(source)
    shortened, fields = take_field_lines(shortened, path)
    if entries or fields:
        try:
            parsed = _parse(shortened, path, recover=False)
        except (MapError, UnexpectedInput):
            parsed = None
        statements = None if parsed is None else put_back(parsed.statements, entries)
        statements = None if statements is None else put_back_fields(statements, fields)
        if parsed is not None and statements is not None:
            return MapFile(path, source, statements, parsed.comments)
    return _parse(source, path, recover=True)


def _parse(source: str, path: str, *, recover: bool) -> MapFile:
    """Parse the text with Lark and build its AST; MapError with every problem.

    Without `recover`, a syntax error leaves as Lark's UnexpectedInput, unexamined.
    """
    text = source + "\n"  # the last statement may lack its newline
    try:
        with CommentCollector() as comment_tokens:
            tree = lark_parser().parse(text)
    except UnexpectedInput as error:
        if not recover:
            raise
        first = describe(error, text, path)
        raise MapError(_diagnose_statements(source, path) or [first], {path: source}) from None
    except LarkError as error:  # pragma: no cover - Lark raises only UnexpectedInput for input
        problem = Diagnostic(path, _FIRST_CHAR, f"cannot parse: {error}")
        raise MapError([problem], {path: source}) from None
    statements, problems = _build(tree, path)
    if problems:
        raise MapError(problems, {path: source})
    comments = tuple(Comment(str(token), token_span(token)) for token in comment_tokens)
    return MapFile(path=path, source=source, statements=statements, comments=comments)


def parse_file(path: Path) -> MapFile:
    """Read a `.map` file as UTF-8 and parse it; unreadable or non-UTF-8 files are diagnostics too."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise MapError(
            [Diagnostic(name, _FIRST_CHAR, f"cannot read the file: {reason}")], {}
        ) from None
    return parse(decode_map_bytes(data, name), name)


def _build(tree: Tree[Token], path: str) -> tuple[tuple[Statement, ...], list[Diagnostic]]:
    """Run the AST builder; what it could not decode comes back as diagnostics."""
    builder = AstBuilder(path)
    try:
        statements: tuple[Statement, ...] = builder.transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, RecursionError):
            message = "the file nests brackets too deeply to be read"
            return (), [Diagnostic(path, _FIRST_CHAR, message)]
        raise error.orig_exc from None
    except RecursionError:
        return (), [Diagnostic(path, _FIRST_CHAR, "the file nests brackets too deeply to be read")]
    return statements, builder.diagnostics


def _diagnose_statements(source: str, path: str) -> list[Diagnostic]:
    """Parse statement by statement: the errors of each, and what each could not build."""
    problems: list[Diagnostic] = []
    lines = source.split("\n")
    for first, last in statement_line_ranges(source):
        if first == last and read_field_line(lines[first], first + 1, path) is not None:
            continue  # a plain field line read without a problem: the parser finds none either
        problems.extend(_diagnose_statement(source, path, first, last))
    return problems


def _diagnose_statement(source: str, path: str, first: int, last: int) -> list[Diagnostic]:
    """One statement's problems; in a block, each broken entry is reported, then blanked out."""
    entries = block_entry_ranges(source, first, last)
    text = isolate(source, first, last) + "\n"
    problems: list[Diagnostic] = []
    while True:
        try:
            tree = lark_parser().parse(text)
        except UnexpectedInput as error:
            problem = describe(error, text, path)
            problems.append(problem)
            line = problem.span.line - 1
            broken = next(((a, b) for a, b in entries if a <= line <= b), None)
            if broken is None:
                return problems
            entries.remove(broken)
            text = blank_out(text, *broken)
            continue
        except LarkError:  # pragma: no cover - see parse()
            return problems
        return problems or _build(tree, path)[1]
