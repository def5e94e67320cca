"""Plain lookup entries read apart from the parser give exactly what the parser gives."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dsl.ast import LookupStmt, MapFile
from dsl.lookup_lines import take_plain_entries

# Every .map file of the repository is checked against the parser alone in test_field_lines.py.
BothParses = Callable[[str], tuple[object, object]]

TRICKY = """version 1
mapping tricky for kong
lookup plain {
  "A" -> "uno"
  "B"->"dos"
  "C"   ->   "tres"   \r
  # a comment between entries
  "D" -> "cuatro"  # a comment after an entry
  "E\\u00e9" -> "escaped"
  "F" -> "con # almohadilla"
  "" -> ""
}
lookup empty {
}

lookup second {

  "x" -> "y"

}
field id string required <- f_codigo -> product_id | lookup(plain, keep)
example "arrows in JSON are not entries" {
  in {"f_codigo": "A",
      "nota": "x"}
  expect canonical {"id": "uno"}
}
"""


def test_plain_entries_are_read_apart_and_put_back_in_place(fast_and_slow: BothParses) -> None:
    shortened, entries = take_plain_entries(TRICKY)
    assert [entry.key.value for entry in entries] == ["A", "B", "C", "F", "", "x"]
    assert shortened.count("\n") == TRICKY.count("\n")
    fast, slow = fast_and_slow(TRICKY)
    assert fast == slow
    assert isinstance(fast, MapFile)
    lookups = [s for s in fast.statements if isinstance(s, LookupStmt)]
    assert [len(lookup.entries) for lookup in lookups] == [7, 0, 1]


@pytest.mark.parametrize(
    "broken",
    [
        TRICKY.replace('  "B"->"dos"', '  "B" => "dos"'),
        TRICKY.replace("lookup empty {\n}", "lookup empty {"),
        TRICKY.replace('  "x" -> "y"', '\t"x" -> "y"'),
        TRICKY.replace("version 1", "version 1\nfield"),
        TRICKY + '"stray" -> "entry"\n',
    ],
)
def test_a_file_with_errors_gets_the_parser_s_own_diagnostics(
    broken: str, fast_and_slow: BothParses
) -> None:
    fast, slow = fast_and_slow(broken)
    assert isinstance(slow, str)
    assert fast == slow
