"""Plain field lines read apart from the parser give exactly the AST and diagnostics it gives."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.ast import FieldStmt, MapFile
from dsl.diagnostics import MapError
from dsl.field_lines import (
    AFTER_NAME_WORDS,
    CHECK_WORDS,
    CLAUSE_WORDS,
    LITERAL_WORDS,
    read_field_line,
    take_field_lines,
)
from dsl.parser import _diagnose_statement, _diagnose_statements, _parse
from dsl.recovery import statement_line_ranges
from dsl.syntax import keyword_spellings, lark_parser

REPO = Path(__file__).resolve().parents[2]
CORPUS = sorted([*REPO.glob("mappings/**/*.map"), *REPO.glob("tests/**/*.map")], key=str)
BothParses = Callable[[str], tuple[object, object]]
HEADER = "version 2\nmapping m for kong\n"
SETTINGS = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

sys.path.insert(0, str(REPO / "benchmarks"))
from checking import many_fields  # noqa: E402


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_map_file_of_the_repository_parses_as_the_parser_alone_parses_it(
    path: Path, fast_and_slow: BothParses
) -> None:
    fast, slow = fast_and_slow(path.read_text(encoding="utf-8"))
    assert fast == slow


def test_every_block_of_the_docs_parses_the_same(
    fast_and_slow: BothParses, docs_fenced_blocks: list[str]
) -> None:
    assert any("field " in block for block in docs_fenced_blocks)
    for block in docs_fenced_blocks:
        fast, slow = fast_and_slow(block)
        assert fast == slow, block


def test_the_benchmark_s_field_lines_are_all_read_apart() -> None:
    _, fields = take_field_lines(many_fields(50), "bench.map")
    assert len(fields) == 50


def _parser_field(line: str) -> FieldStmt:
    """The FieldStmt the parser alone gives for one line, on line 3 after a header."""
    statement = _parse(HEADER + line + "\n", "x.map", recover=False).statements[-1]
    assert isinstance(statement, FieldStmt)
    return statement


@pytest.mark.parametrize(
    "line",
    [
        "field custom:c000001 string optional <- f_c000001 -> attributes.c000001 | trim",
        "field id string required <- f_codigo -> product_id check length 1..64"
        ' check matches "^[A-Za-z0-9._-]+$"',
        "field display_name string optional <- f_nombre_corto, f_nombre",
        'field ean string optional <- f_ean -> barcode check matches "^[0-9]{13}$" check ean13',
        "field stock_quantity int required <- f_cantidad -> quantity check >= 0",
        'field w string required <- f_u -> loc | upper | format("{zone:A}-{aisle:99}", "{zone}")',
        "override warehouse_location <- f_ubicacion_alterna",
        "override name required",
        '  field source string = "siesa" -> source   \r',
        "field price decimal <- cabecera.precio -> price as number on missing null",
        "field w int<-a->b|f(true,-1, 2.50,x)default -3 check -5..5 on invalid reject",
        'field n string <- f check length <= 10 check length >= 1 check in_stock default "a\\u00e9"',
        "field lookup string <- default -> as as string | lookup(codigos, keep) | x()",
    ],
)
def test_plain_field_lines_are_read_as_the_parser_reads_them(line: str) -> None:
    assert read_field_line(line, 3, "x.map") == _parser_field(line)


@pytest.mark.parametrize(
    "line",
    [
        "field id string required <- f_codigo  # a comment",
        "field\tid string <- f",
        'field id string <- "F COD"',
        'field id string <- f -> attributes."color-code"',
        'field id string <- f check matches "^[\\d]+$"',
        'field id string <- f check matches "\\ud800"',
        "field id string <- f check length < 5",
        'field id string <- f check in ["a", "b"]',
        "field id string = f_codigo",
        'field id string = "a" + "b"',
        "field id string <- f <- g",
        "field id string",
        "field id <- f",
        "field id string <- custom:x",
        "field a.b string <- f",
        "field id custom:t <- f",
        "field id string <- f | lookup(a.b)",
        "field id string <- f | f(a,)",
        "field id string <- f | f(a b)",
        "field id string <- f check 1..",
        "field id on <- f",
        "field id string on other x <- f",
        "field id string <- f;",
        f"field id int <- f default {'9' * 5000}",
    ],
)
def test_other_lines_are_left_to_the_parser(line: str) -> None:
    assert read_field_line(line, 3, "x.map") is None


def _lexed_here(prefix: str) -> set[str]:
    """The terminals the contextual lexer looks for after `prefix` (a word there is a keyword).

    That is every terminal of the parser state reached, which may be more than
    the parser accepts next: a state shared by several rules looks for the
    terminals that may follow any of them.
    """
    interactive = lark_parser().parse_interactive(HEADER + prefix)
    interactive.exhaust_lexer()
    state = interactive.parser_state
    return set(state.parse_conf.parse_table.states[state.position])


def _keywords_here(prefix: str) -> set[str]:
    spellings = keyword_spellings()
    return {
        spellings[terminal]
        for terminal in _lexed_here(prefix)
        if spellings.get(terminal, "").isidentifier()
    }


# The places where the reader expects a clause word or the end of the line, then its other places.
AFTER_CLAUSE = [
    "field x t ",
    "field x t required ",
    "field x t <- a ",
    "field x t <- a.b ",
    "field x t -> a ",
    "field x t -> a as n ",
    "field x t | s ",
    "field x t | s() ",
    "field x t | s(1) ",
    "field x t check e ",
    'field x t check matches "a" ',
    "field x t check >= 1 ",
    "field x t check 1..2 ",
    "field x t check length 1..2 ",
    "field x t check length <= 2 ",
    "field x t on missing null ",
    "field x t on invalid reject ",
]
AFTER_LITERAL = ["field x t default 1 ", 'field x t default "a" ', "field x t = true "]


def test_the_keyword_sets_are_the_ones_the_lexer_looks_for() -> None:
    for prefix in AFTER_CLAUSE:
        expected = (
            CLAUSE_WORDS | {"required", "optional"} if prefix == "field x t " else CLAUSE_WORDS
        )
        assert _keywords_here(prefix) - {"as"} == expected, prefix
        assert "COMPARE_OP" not in _lexed_here(prefix), prefix  # so `<-` is a source clause
    for prefix in AFTER_LITERAL:
        assert _keywords_here(prefix) >= CLAUSE_WORDS
        assert "COMPARE_OP" in _lexed_here(prefix)  # so `<-` is `<` there: the reader stops
        assert read_field_line(prefix + "<- f", 3, "x.map") is None
    assert _keywords_here("field x ") == AFTER_NAME_WORDS
    assert _keywords_here("field x t check ") == CHECK_WORDS
    assert _keywords_here("field x t | s(") == set(LITERAL_WORDS)
    assert _keywords_here("field x t | s(a, ") == set(LITERAL_WORDS)
    assert _keywords_here("field x t default ") == set(LITERAL_WORDS)
    assert _keywords_here("field x t on ") == {"invalid", "missing"}
    for prefix in ["field ", "override ", "field x t <- ", "field x t <- a, ", "field x t -> "]:
        assert _keywords_here(prefix) == set(), prefix
    for prefix in ["field x t -> a as ", "field x t | ", "field x t on invalid "]:
        assert _keywords_here(prefix) == set(), prefix
    assert _keywords_here("field x t on missing ") == set()


def test_a_field_line_inside_a_block_gets_the_parser_s_diagnostics(
    fast_and_slow: BothParses,
) -> None:
    for source in [
        HEADER + "lookup a {\nfield x string <- f\n}\n",
        HEADER + 'example "e" {\n  in {"a":\nfield x string <- f\n}\n  expect reject x\n}\n',
        HEADER + "lookup a {\nfield x string <- f\n",
        HEADER + "field x string <- f\nfield x string <- f <- g\n",
        HEADER + "field x string <- f\nfield\n",
    ]:
        fast, slow = fast_and_slow(source)
        assert isinstance(slow, str)
        assert fast == slow


def test_field_lines_go_back_between_the_other_statements(fast_and_slow: BothParses) -> None:
    source = HEADER + (
        "field a string <- f  # parser\n"
        "field b string <- g\n"
        'lookup t {\n  "x" -> "y"\n}\n'
        "\n"
        "field c string <- h | lookup(t)\r\n"
        'example "e" {\n  in {"f": "x"}\n  expect canonical {"a": "x"}\n}\n'
        "field d string <- i\n"
    )
    fast, slow = fast_and_slow(source)
    assert isinstance(fast, MapFile)
    assert fast == slow
    assert len(take_field_lines(source, "x.map")[1]) == 3


# --- generated lines: words from every corner of the grammar, spaced every way ----------------

_KEYWORDS = sorted(word for word in keyword_spellings().values() if word.isidentifier())
words = st.one_of(
    st.sampled_from(_KEYWORDS),
    st.from_regex(r"[a-z_][a-z0-9_]{0,3}", fullmatch=True),
)
paths = st.lists(words, min_size=1, max_size=3).map(".".join)
strings = st.one_of(
    st.text(max_size=4).map(json.dumps),
    st.sampled_from(['"\\d"', '"\\ud800"', '"a\\"b"', '"#"', '"\\u00e9"', '"->"']),
)
numbers = st.from_regex(r"-?[0-9]{1,3}(\.[0-9]{1,2})?", fullmatch=True)
literals = st.one_of(strings, numbers, st.sampled_from(["true", "false", "null"]))
operators = st.sampled_from(
    ["<-", "->", "|", ",", "(", ")", "=", "..", ">=", "<=", ">", "<", "#", "+", "[", "]", "\t"]
)


@st.composite
def clauses(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return "<- " + ", ".join(draw(st.lists(paths, min_size=1, max_size=2)))
    if kind == 1:
        return f"-> {draw(paths)}" + (f" as {draw(words)}" if draw(st.booleans()) else "")
    if kind == 2:
        args = draw(st.lists(st.one_of(literals, words), max_size=3))
        return f"| {draw(words)}" + (f"({', '.join(args)})" if args or draw(st.booleans()) else "")
    if kind == 3:
        return f"= {draw(st.one_of(literals, words))}"
    if kind == 4:
        return f"default {draw(st.one_of(literals, words))}"
    if kind == 5:
        check = draw(
            st.one_of(
                words,
                strings.map(lambda s: f"matches {s}"),
                st.tuples(st.sampled_from([">=", "<=", ">", "<"]), numbers).map(" ".join),
                st.tuples(numbers, numbers).map("..".join),
                st.tuples(numbers, numbers).map(lambda b: f"length {b[0]}..{b[1]}"),
                st.tuples(st.sampled_from(["<=", ">=", "<"]), numbers).map(
                    lambda b: f"length {b[0]} {b[1]}"
                ),
            )
        )
        return f"check {check}"
    if kind == 6:
        return f"on {draw(st.sampled_from(['invalid', 'missing', 'other']))} {draw(words)}"
    if kind == 7:
        return draw(operators)
    if kind == 8:
        return draw(st.one_of(words, literals))
    return f"custom:{draw(words)}"


@st.composite
def generated_lines(draw: st.DrawFn) -> str:
    parts = [draw(st.sampled_from(["field", "override"]))]
    parts.append(draw(st.one_of(words, words.map(lambda w: f"custom:{w}"), paths)))
    if draw(st.booleans()):
        parts.append(draw(st.one_of(words, st.sampled_from(["string", "int", "decimal"]))))
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["required", "optional"])))
    parts.extend(draw(st.lists(clauses(), max_size=5)))
    line = ""
    for part in parts:
        gap = draw(st.sampled_from([" ", " ", "  ", ""])) if line else ""
        line += gap + part
    indent = draw(st.sampled_from(["", "", "  "]))
    return indent + line + draw(st.sampled_from(["", "", " ", "\r", "  \r"]))


@SETTINGS
@given(line=generated_lines())
def test_a_line_read_apart_is_the_line_the_parser_reads(line: str) -> None:
    node = read_field_line(line, 3, "x.map")
    if node is not None:
        assert node == _parser_field(line)


@SETTINGS
@given(lines=st.lists(generated_lines(), min_size=1, max_size=4))
def test_a_file_of_generated_lines_parses_the_same(
    lines: list[str], fast_and_slow: BothParses
) -> None:
    fast, slow = fast_and_slow(HEADER + "\n".join(lines) + "\n")
    assert fast == slow


def test_generated_lines_are_often_read_apart() -> None:
    """Guards the property tests above: they must reach the reader's answers, not only None."""
    taken = 0

    @settings(max_examples=300, deadline=None, database=None)
    @given(line=generated_lines())
    def count(line: str) -> None:
        nonlocal taken
        taken += read_field_line(line, 3, "x.map") is not None

    count()
    assert taken >= 20


def test_a_file_with_a_broken_line_reports_every_problem_as_the_parser_does(
    fast_and_slow: BothParses,
) -> None:
    lines = [
        "field a string <- f",
        "field b string <- g <- h",
        "field c strin <- i",
        "field d string = x + 1",
    ]
    fast, slow = fast_and_slow(HEADER + "\n".join(lines) + "\n")
    assert fast == slow
    with pytest.raises(MapError):
        _parse(HEADER + "\n".join(lines) + "\n", "x.map", recover=True)


@SETTINGS
@given(lines=st.lists(generated_lines(), min_size=1, max_size=5), broken=st.integers(0, 4))
def test_diagnosing_statement_by_statement_skips_only_lines_without_problems(
    lines: list[str], broken: int
) -> None:
    lines.insert(min(broken, len(lines)), "field oops string <- f ;")
    source = HEADER + "\n".join(lines) + "\n"
    every_statement = [
        problem
        for first, last in statement_line_ranges(source)
        for problem in _diagnose_statement(source, "x.map", first, last)
    ]
    assert _diagnose_statements(source, "x.map") == every_statement
