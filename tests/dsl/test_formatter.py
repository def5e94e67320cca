"""The formatter: one canonical layout, idempotent, nothing lost (comments, meaning)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from dsl.ast import MapFile
from dsl.diagnostics import MapError
from dsl.formatter import format_source, literal_text
from dsl.parser import parse

FORMAT_GOLDEN = Path(__file__).parent / "golden" / "format"
INPUTS = sorted(FORMAT_GOLDEN.glob("*.input.map"))
ALL_VALID = sorted(FORMAT_GOLDEN.glob("*.map"))


def comment_texts(source: str) -> Counter[str]:
    return Counter(comment.text.rstrip() for comment in parse(source, "t.map").comments)


@pytest.mark.parametrize("case", INPUTS, ids=[case.name for case in INPUTS])
def test_golden_layout(case: Path) -> None:
    expected = case.with_name(case.name.replace(".input.map", ".output.map"))
    source = case.read_text(encoding="utf-8")
    assert format_source(source, case.name) == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", ALL_VALID, ids=[case.name for case in ALL_VALID])
def test_golden_files_format_idempotently_keeping_comments_and_meaning(
    case: Path, statements_meaning: Callable[[MapFile], object]
) -> None:
    source = case.read_text(encoding="utf-8")
    once = format_source(source, case.name)
    assert format_source(once, case.name) == once
    assert comment_texts(once) == comment_texts(source)
    assert statements_meaning(parse(once, "t.map")) == statements_meaning(parse(source, "t.map"))


def test_the_docs_examples_are_whole_files_that_format_idempotently(
    docs_examples: list[str], statements_meaning: Callable[[MapFile], object]
) -> None:
    assert len(docs_examples) >= 2
    for source in docs_examples:
        once = format_source(source, "docs.map")
        assert format_source(once, "docs.map") == once
        assert statements_meaning(parse(once, "t.map")) == statements_meaning(
            parse(source, "t.map")
        )


def test_the_first_look_of_the_docs_is_already_canonical(docs_examples: list[str]) -> None:
    first_look = docs_examples[0]
    assert first_look.startswith("# Kong (RFID backend)")
    assert format_source(first_look, "kong.map") == first_look


def test_clauses_take_the_documented_order() -> None:
    source = 'field a string optional on invalid warn check ean13 default "x" | trim -> t <- s\n'
    assert format_source(source, "t.map") == (
        'field a string optional <- s -> t | trim default "x" check ean13 on invalid warn\n'
    )


def test_required_and_optional_are_written_exactly_as_given() -> None:
    assert format_source("field a int <- s", "t.map") == "field a int <- s\n"
    assert format_source("field a int optional <- s", "t.map") == "field a int optional <- s\n"
    assert format_source("override a required", "t.map") == "override a required\n"


def test_own_line_comments_stay_before_and_trailing_comments_stay_after() -> None:
    source = (
        "# about version\nversion 1 # the only one   \n\n\n\n# about mapping\nmapping k for kong\n"
    )
    assert format_source(source, "t.map") == (
        "# about version\nversion 1  # the only one\n\n# about mapping\nmapping k for kong\n"
    )


def test_leading_blank_lines_go_and_the_file_ends_with_one_newline() -> None:
    assert format_source("\n\n  version 1\n\n\n", "t.map") == "version 1\n"
    assert format_source("", "t.map") == ""
    assert format_source("# just a note", "t.map") == "# just a note\n"


def test_windows_line_endings_become_newlines() -> None:
    assert format_source("version 1\r\n# c\r\nremove ean\r\n", "t.map") == (
        "version 1\n# c\nremove ean\n"
    )


def test_json_becomes_one_compact_line_and_keeps_the_comments_inside_it() -> None:
    source = (
        'example "e" {\n'
        "  in {\n"
        '    "a": 1,   # first\n'
        "    # own\n"
        '    "b": [1,\n'
        "          2.50]\n"
        "  }\n"
        "  expect reject a\n"
        "}\n"
    )
    assert format_source(source, "t.map") == (
        'example "e" {\n  # own\n  in {"a": 1, "b": [1, 2.50]}  # first\n  expect reject a\n}\n'
    )


def test_several_trailing_comments_of_one_line_keep_the_last_on_it() -> None:
    source = 'example "e" {\n  in {"a": 1,  # one\n  "b": 2}  # two\n  expect reject a\n}\n'
    once = format_source(source, "t.map")
    assert once == 'example "e" {\n  # one\n  in {"a": 1, "b": 2}  # two\n  expect reject a\n}\n'
    assert format_source(once, "t.map") == once


def test_strings_are_rewritten_as_json_and_numbers_as_written() -> None:
    source = 'field a decimal <- s | replace("\\u00e9", "\\/") default 0.0000001 check 1.50..2'
    assert format_source(source, "t.map") == (
        'field a decimal <- s | replace("é", "/") default 0.0000001 check 1.50..2\n'
    )
    assert literal_text(None) == "null"
    assert literal_text(True) == "true"


def test_a_file_with_syntax_errors_is_not_formatted() -> None:
    with pytest.raises(MapError) as caught:
        format_source("field id string <-\nfeild x\n", "t.map")
    assert len(caught.value.diagnostics) == 2


PRODUCT_MAPPINGS = sorted((Path(__file__).resolve().parents[2] / "mappings").rglob("*.map"))


@pytest.mark.parametrize("case", PRODUCT_MAPPINGS, ids=[case.name for case in PRODUCT_MAPPINGS])
def test_the_shipped_mappings_format_idempotently(
    case: Path, statements_meaning: Callable[[MapFile], object]
) -> None:
    source = case.read_text(encoding="utf-8")
    once = format_source(source, case.name)
    assert format_source(once, case.name) == once
    assert comment_texts(once) == comment_texts(source)
    assert statements_meaning(parse(once, "t.map")) == statements_meaning(parse(source, "t.map"))


INVISIBLE = (
    "version 1\n"
    "mapping x for kong\n"
    'field id string required <- f_codigo -> product_id | replace("\\u00a0", " ")\n'
    'field name string <- f_nombre -> name | replace("\\u200b\\u202e\\u0007\\u007f\\u0085\\u2028\\udb40\\udc67", "")\n'
    'example "\\u00a0 é 🙂" {\n'
    '  in {"f_codigo": "A\\u00a0B\\t", "f_nombre": "x\\u200by"}\n'
    '  expect product contains {"product_id": "A B"}\n'
    "  expect warning name\n"
    "}\n"
)


def test_invisible_and_control_characters_keep_their_escapes() -> None:
    assert format_source(INVISIBLE, "x.map") == INVISIBLE


def test_raw_invisible_characters_are_written_as_escapes() -> None:
    raw = INVISIBLE.replace("\\u00a0", "\u00a0").replace("\\u200b", "\u200b")
    assert "\u00a0" in raw and "\u200b" in raw
    assert format_source(raw, "x.map") == INVISIBLE


def test_the_new_example_lines_take_their_place() -> None:
    source = (
        "version 1\nmapping x for kong\nfield id string required <- f_codigo -> product_id\n"
        'example "e" {\n'
        "  expect warning id\n"
        '  expect product contains {"product_id": "P"}\n'
        '  in {"f_codigo": "P"}\n'
        "}\n"
    )
    assert format_source(source, "x.map").splitlines()[4:7] == [
        '  in {"f_codigo": "P"}',
        '  expect product contains {"product_id": "P"}',
        "  expect warning id",
    ]


VERSION_2_CONSTRUCTS = """\
version 2
mapping t for kong
column f_x   decimal <- "F X"
column line.b string
column c string <- cab.cod
skip when f_a=="N" and not (x > 1)
reject when f_p < 0 because "neg \\"quoted\\" \\u200b"
each line in f_b
field x decimal = when a == 1 then 2 when b then - x else round( x , 2, half_up ) -> y
field t datetime = to_utc(f, "America/Santiago", gap = shift_forward, overlap=earlier)
field s string = join("-",  upper(a), substring(b, 1, 2)) + replace_regex(c, "\\\\d+", "#")
example "e" {
  in {"a": 1}
  expect skip
}
example "f" {
  in {"a": 1}
  expect reject
}
example "g" {
  in {"a": 1}
  expect products [{"a": 1},
     {"b": 2}]
}
"""
VERSION_2_CANONICAL = """\
version 2
mapping t for kong
column f_x decimal <- "F X"
column line.b string
column c string <- cab.cod
skip when f_a == "N" and not (x > 1)
reject when f_p < 0 because "neg \\"quoted\\" \\u200b"
each line in f_b
field x decimal = when a == 1 then 2 when b then -x else round(x, 2, half_up) -> y
field t datetime = to_utc(f, "America/Santiago", gap=shift_forward, overlap=earlier)
field s string = join("-", upper(a), substring(b, 1, 2)) + replace_regex(c, "\\\\d+", "#")
example "e" {
  in {"a": 1}
  expect skip
}
example "f" {
  in {"a": 1}
  expect reject
}
example "g" {
  in {"a": 1}
  expect products [{"a": 1}, {"b": 2}]
}
"""


def test_version_2_constructs_format_canonically_and_round_trip(
    statements_meaning: Callable[[MapFile], object],
) -> None:
    once = format_source(VERSION_2_CONSTRUCTS, "t.map")
    assert once == VERSION_2_CANONICAL
    assert format_source(once, "t.map") == once
    assert statements_meaning(parse(once, "t.map")) == statements_meaning(
        parse(VERSION_2_CONSTRUCTS, "t.map")
    )


def test_each_over_objects_formats_on_one_line() -> None:
    source = 'each line in { bodega: "01", cantidad: f_c1 },{bodega: "02", cantidad: f_c2 * 2}\n'
    assert format_source(source, "t.map") == (
        'each line in {bodega: "01", cantidad: f_c1}, {bodega: "02", cantidad: f_c2 * 2}\n'
    )


def test_upgrade_rewrites_only_the_version_line() -> None:
    source = "# head\nversion 1\nmapping t for kong\nfield id string required <- f_codigo\n"
    assert format_source(source, "t.map", upgrade=True) == source.replace("version 1", "version 2")
    assert format_source(source, "t.map") == source
