"""Cutting a file into statements and block entries: what error recovery parses on its own."""

from __future__ import annotations

from dsl.recovery import blank_out, block_entry_ranges, isolate, statement_line_ranges
from dsl.suggest import closest, did_you_mean
from dsl.type_names import TYPE_NAMES

FILE = """\
# header comment
version 1
field a string <- x  # {[ not counted in a comment
field b string = "{[ not counted in a string"

lookup t {
  "k" -> "v"

  "k2" -> "v2"
}
example "e" {
  in {
    "a": [1,
          2]
  }
  expect reject a
}
"""


def test_each_statement_gets_its_own_lines_with_blank_and_comment_lines_after_it() -> None:
    assert statement_line_ranges(FILE) == [(1, 1), (2, 2), (3, 4), (5, 9), (10, 17)]


def test_an_unclosed_block_ends_where_the_next_statement_starts() -> None:
    source = 'lookup t {\n  "k" -> "v"\nfield a string <- x\nexample "e" {\n  in {"a": 1\n'
    assert statement_line_ranges(source) == [(0, 1), (2, 2), (3, 5)]


def test_lines_outside_any_statement_start_their_own() -> None:
    assert statement_line_ranges("  }\njunk here\n\n") == [(0, 0), (1, 3)]


def test_block_entries_are_lines_of_a_lookup_and_json_spans_of_an_example() -> None:
    assert block_entry_ranges(FILE, 5, 9) == [(6, 6), (8, 8)]
    assert block_entry_ranges(FILE, 10, 17) == [(11, 14), (15, 15)]
    assert block_entry_ranges(FILE, 1, 1) == []


def test_an_example_entry_with_an_unclosed_json_stops_at_the_next_expect() -> None:
    source = 'example "e" {\n  in {"a": 1\n  expect reject a\n}\n'
    assert block_entry_ranges(source, 0, 3) == [(1, 1), (2, 2)]


def test_isolating_and_blanking_keep_every_line_in_its_place() -> None:
    text = isolate(FILE, 5, 9)
    assert text.split("\n")[5] == "lookup t {"
    assert text.split("\n")[:5] == [""] * 5
    blanked = blank_out(text, 6, 6)
    assert blanked.split("\n")[6] == "" and blanked.split("\n")[8] == '  "k2" -> "v2"'


def test_did_you_mean_picks_a_close_word_or_nothing() -> None:
    assert did_you_mean("feild", ["field", "lookup"]) == "did you mean `field`?"
    assert closest("LOOKUP", ["field", "lookup"]) == "lookup"
    assert closest("zzz", ["field", "lookup"]) is None
    assert closest("field", ["field"]) is None


def test_did_you_mean_prefers_an_alias_then_a_spelling_then_the_case() -> None:
    aliases = {"integer": "int"}
    assert did_you_mean("Integer", TYPE_NAMES, aliases) == "did you mean `int`?"
    assert did_you_mean("strng", TYPE_NAMES, aliases) == "did you mean `string`?"
    assert did_you_mean("DATETIME", TYPE_NAMES, aliases) == "did you mean `datetime`?"
    assert did_you_mean("blob", TYPE_NAMES, aliases) is None
