"""Pointing inside string literals: value offsets -> source columns, escapes included."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.mapping import map_app
from compiler.pipeline import check_source
from compiler.spans import inside
from dsl.ast import Literal, Span
from dsl.diagnostics import MapError


def _literal(line_text: str, value: str) -> tuple[str, Literal]:
    start = line_text.index('"') + 1
    end = line_text.rindex('"') + 2
    return line_text + "\n", Literal(value, Span(1, start, 1, end))


@pytest.mark.parametrize(
    ("text", "value", "offset", "column"),
    [
        ('x "abc"', "abc", 1, 5),  # the b
        ('x "a\\"c"', 'a"c', 2, 7),  # after an escaped quote
        ('x "\\u00e9(x"', "é(x", 1, 10),  # after a \u escape
        ('x "\\n\\t("', "\n\t(", 2, 8),
        ('x "ab"', "ab", 2, 6),  # past the end: the closing quote
    ],
)
def test_offset_in_a_value_maps_to_its_column(
    text: str, value: str, offset: int, column: int
) -> None:
    source, literal = _literal(text, value)
    assert inside(source, literal, offset).column == column


def test_a_literal_that_does_not_decode_to_its_value_falls_back_to_its_own_span() -> None:
    source, literal = _literal('x "abc"', "something else")
    assert inside(source, literal, 1) == literal.span
    assert inside(source, Literal(3, Span(1, 3, 1, 4)), 0) == Span(1, 3, 1, 4)


def test_regex_error_after_escapes_points_at_the_character() -> None:
    source = 'version 1\nmapping t for kong\nfield id string required <- f_codigo check matches "\\u00e9\\\\d(x"\n'
    with pytest.raises(MapError) as raised:
        check_source(source, "t.map")
    (diagnostic,) = raised.value.diagnostics
    line = source.splitlines()[2]
    assert line[diagnostic.span.column - 1] == "("
    assert "this `(` is not closed" in diagnostic.message


def test_a_file_that_is_not_utf8_is_a_diagnostic(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.map"
    bad.write_bytes(
        "version 1\nmapping t for kong\nfield name string required <- f_año\n".encode("latin-1")
    )
    result = CliRunner().invoke(map_app, ["check", str(bad)])
    assert result.exit_code == 1
    assert "not UTF-8" in result.stderr
    assert "Traceback" not in result.output
