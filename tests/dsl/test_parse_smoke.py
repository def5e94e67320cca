"""The docs' first example parses into the statements it says."""

from __future__ import annotations

from dsl.ast import FieldStmt, LookupStmt
from dsl.parser import parse

SOURCE = """version 1
mapping kong for kong
lookup categorias {
  "01" -> "Ropa"
}
field id string required <- f_codigo -> product_id check length 1..64
"""


def test_a_small_file_parses_into_its_statements() -> None:
    parsed = parse(SOURCE, "kong.map")
    kinds = [type(statement).__name__ for statement in parsed.statements]
    assert kinds == ["VersionStmt", "MappingStmt", "LookupStmt", "FieldStmt"]
    lookup = parsed.statements[2]
    assert isinstance(lookup, LookupStmt)
    assert [(e.key.value, e.value.value) for e in lookup.entries] == [("01", "Ropa")]
    field = parsed.statements[3]
    assert isinstance(field, FieldStmt)
    assert field.target is not None and field.target.text == "product_id"
