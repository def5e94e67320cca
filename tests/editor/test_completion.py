"""What completion offers for a half-typed line, without a server: the contexts one by one."""

from __future__ import annotations

import pytest

from editor.completion import complete
from editor.project import Names

NAMES = Names(
    lookups=("categorias",),
    columns=("f_peso", "line.f_bodega"),
    fields=("id", "custom:color"),
    sources=("f_codigo", '"F NOMBRE"', "cabecera.codigo"),
)


@pytest.mark.parametrize(
    ("prefix", "offered"),
    [
        ("field a string <- b on invalid ", ["reject", "drop", "warn"]),
        ("field a string <- b on missing ", ["omit", "null"]),
        ("field a decimal <- b -> price as ", ["number", "string"]),
        ("field a string <- b on ", ["invalid", "missing"]),
        ("field a string <- b check ", ["ean13", "gtin", "matches", "length", "in"]),
        ("field a string <- b | lookup(", ["categorias"]),
        ("field a string <- ", ["f_codigo", '"F NOMBRE"', "cabecera.codigo"]),
        ("field a string <- f_x, ", ["f_codigo", '"F NOMBRE"', "cabecera.codigo"]),
        ("lookup categorias {", []),
    ],
)
def test_what_each_context_offers(prefix: str, offered: list[str]) -> None:
    assert [entry.name for entry in complete(prefix, [], NAMES).entries] == offered


def test_expressions_offer_functions_columns_and_their_keywords() -> None:
    names = {e.name for e in complete("field a decimal = round(", [], NAMES).entries}
    assert {"round", "to_utc", "f_peso", "line.f_bodega", "when", "and"} <= names
    rule = {e.name for e in complete("skip when f_peso > 0 and ", [], NAMES).entries}
    assert {"f_peso", "not", "coalesce"} <= rule


def test_fields_include_the_files_custom_ones_and_the_word_replaced_starts_at_the_word() -> None:
    offer = complete("override custom:co", [], NAMES)
    assert {"ean", "custom:color", "custom:"} <= {e.name for e in offer.entries}
    assert offer.start == len("override ")


def test_inside_a_lookup_block_nothing_is_offered_and_outside_it_statements_are() -> None:
    block = ["lookup categorias {", '  "01" -> "Ropa"']
    assert complete("  ", block, NAMES).entries == ()
    after = [*block, "}"]
    assert "field" in {e.name for e in complete("", after, NAMES).entries}
