"""Syntax errors as the user reads them: the golden corpus, and every error of a file at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.diagnostics import MapError
from dsl.parser import parse

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.map"))


def errors_of(source: str) -> MapError:
    with pytest.raises(MapError) as caught:
        parse(source, "t.map")
    return caught.value


def test_the_corpus_covers_the_cases_the_language_promises() -> None:
    required = {
        "missing_source",
        "unterminated_string",
        "bad_token",
        "two_errors",
        "duplicate_default",
        "unclosed_lookup",
        "example_without_in",
        "tab",
        "odd_char",
    }
    assert required <= {case.stem for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_golden_diagnostics(case: Path) -> None:
    source = case.read_text(encoding="utf-8")
    with pytest.raises(MapError) as caught:
        parse(source, case.name)
    expected = case.with_suffix(".expected").read_text(encoding="utf-8")
    assert caught.value.render() + "\n" == expected


def test_every_broken_statement_is_reported_not_only_the_first() -> None:
    error = errors_of(
        "version 1\n"
        "field a string <-\n"
        "field b string <- x\n"
        "field c string <- x -> \n"
        "lookup t {\n"
        '  "k" "v"\n'
        '  "k2" -> "v2"\n'
        '  "k3" ->\n'
        "}\n"
        'field d string <- x default "open\n'
        "field e string <- x default 1 default 2\n"
    )
    assert [d.span.line for d in error.diagnostics] == [2, 4, 6, 8, 10, 11]


def test_a_tab_or_an_odd_character_points_at_itself() -> None:
    tab = errors_of("field\tid string <- x").diagnostics[0]
    assert (tab.span.line, tab.span.column, tab.span.end_column) == (1, 6, 7)
    assert "tab" in tab.message
    odd = errors_of("field id string <- x §").diagnostics[0]
    assert (odd.span.column, odd.message.split(":")[0]) == (22, "unexpected character `§`")
    control = errors_of("version 1\x00").diagnostics[0]
    assert "U+0000" in control.message


def test_the_error_span_is_the_offending_token() -> None:
    problem = errors_of("field id string required <- f_codigo -> 12abc").diagnostics[0]
    assert (problem.span.line, problem.span.column, problem.span.end_column) == (1, 41, 46)
    assert problem.message.endswith("found `12abc`")


def test_a_missing_piece_at_the_end_of_a_line_points_just_past_it() -> None:
    problem = errors_of("version 1\nfield id string <-\n").diagnostics[0]
    assert (problem.span.line, problem.span.column, problem.span.end_column) == (2, 19, 20)
    assert "found the end of the line" in problem.message


def test_an_unclosed_block_at_the_end_of_the_file_points_at_its_brace() -> None:
    problem = errors_of('lookup t {\n  "a" -> "b"\n').diagnostics[0]
    assert (problem.span.line, problem.span.column) == (1, 10)
    assert "never closed" in problem.message


def test_a_block_entry_on_the_block_line_is_an_error() -> None:
    problem = errors_of('lookup t { "a" -> "b" }').diagnostics[0]
    assert "one lookup entry per line" in problem.message


def test_deeply_nested_json_is_an_error_not_a_crash() -> None:
    depth = 3000
    source = 'example "deep" {\n  in ' + "[" * depth + "]" * depth + "\n  expect reject id\n}\n"
    error = errors_of(source)
    assert "too deeply" in error.diagnostics[0].message


def test_rendered_errors_come_in_source_order_with_carets() -> None:
    rendered = errors_of("field b string <- x -> 1\nfeild a\n").render()
    blocks = rendered.split("\n\n")
    assert blocks[0].startswith("t.map:1:24: error: expected a product field after `->`")
    assert blocks[0].splitlines()[2] == "      |                        ^"
    assert blocks[1].startswith("t.map:2:1: error: expected a statement")
    assert blocks[1].endswith("hint: did you mean `field`?")


def test_a_number_too_long_for_python_is_an_error_not_a_crash() -> None:
    digits = "1" * 5000
    for source in (
        f"version {digits}",
        f'example "long" {{\n  in [{digits}]\n  expect reject id\n}}',
        'example "huge" {\n  in [1e999]\n  expect reject id\n}',
    ):
        problem = errors_of(source).diagnostics[0]
        assert "too many digits" in problem.message or "too large" in problem.message
