"""Plain lookup entries read apart from the parser give exactly what the parser gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.ast import LookupStmt, MapFile
from dsl.diagnostics import MapError
from dsl.lookup_lines import take_plain_entries
from dsl.parser import _parse, parse

REPO = Path(__file__).resolve().parents[2]
CORPUS = sorted(
    [*REPO.glob("mappings/**/*.map"), *REPO.glob("tests/**/golden/**/*.map")],
    key=str,
)

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


def _both(source: str) -> tuple[object, object]:
    try:
        fast: object = parse(source, "x.map")
    except MapError as exc:
        fast = exc.render()
    try:
        slow: object = _parse(source, "x.map", recover=True)
    except MapError as exc:
        slow = exc.render()
    return fast, slow


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_map_file_of_the_repository_parses_the_same(path: Path) -> None:
    fast, slow = _both(path.read_text(encoding="utf-8"))
    assert fast == slow


def test_plain_entries_are_read_apart_and_put_back_in_place() -> None:
    shortened, entries = take_plain_entries(TRICKY)
    assert [entry.key.value for entry in entries] == ["A", "B", "C", "F", "", "x"]
    assert shortened.count("\n") == TRICKY.count("\n")
    fast, slow = _both(TRICKY)
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
def test_a_file_with_errors_gets_the_parser_s_own_diagnostics(broken: str) -> None:
    fast, slow = _both(broken)
    assert isinstance(slow, str)
    assert fast == slow
