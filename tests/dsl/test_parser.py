"""Every construct of docs/mapping-language.md parses into the AST it means, with right spans."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from dsl.ast import (
    CompareCheck,
    EveryStringStmt,
    Example,
    FieldStmt,
    InCheck,
    LengthCheck,
    LookupStmt,
    MappingStmt,
    MatchesCheck,
    Name,
    NamedCheck,
    RangeCheck,
    RemoveStmt,
    Span,
    Statement,
    TimezoneStmt,
    VersionStmt,
)
from dsl.diagnostics import MapError
from dsl.parser import parse, parse_file

FIRST_LOOK = """\
# Kong (RFID backend): Siesa items -> canonical products -> POST /products/bulk
version 1
mapping kong for kong
timezone "America/Bogota"

every string | trim | empty_to_missing

lookup categorias {
  "01" -> "Ropa"
  "02" -> "Calzado"
}

field id string required <- f_codigo -> product_id check length 1..64 check matches "^[A-Za-z0-9._-]+$"
field name string required <- f_nombre -> name check length 1..200
field display_name string optional <- f_nombre_corto, f_nombre
field category string optional <- f_categoria | lookup(categorias) default "Sin categoría"
field ean string optional <- f_ean -> barcode check matches "^[0-9]{13}$" check ean13
field stock_quantity int required <- f_cantidad -> quantity check >= 0
field custom:color string optional <- f_color -> attributes.color
field source string = "siesa"

example "a plain record" {
  in {"f_codigo": " PROD001 ", "f_nombre": "Camisa", "f_cantidad": "100.0"}
  expect product {"product_id": "PROD001", "name": "Camisa", "quantity": 100, "barcode": null}
}
"""


def only(source: str) -> Statement:
    """The single statement of a one-statement file."""
    (statement,) = parse(source, "t.map").statements
    return statement


def field(source: str) -> FieldStmt:
    statement = only(source)
    assert isinstance(statement, FieldStmt)
    return statement


def names(items: tuple[Name, ...]) -> list[str]:
    return [item.text for item in items]


def test_the_first_look_file_parses_statement_by_statement() -> None:
    parsed = parse(FIRST_LOOK, "mappings/kong.map")
    kinds = [type(statement).__name__ for statement in parsed.statements]
    assert kinds == [
        "VersionStmt",
        "MappingStmt",
        "TimezoneStmt",
        "EveryStringStmt",
        "LookupStmt",
        *["FieldStmt"] * 8,
        "Example",
    ]
    assert parsed.path == "mappings/kong.map"
    assert parsed.source == FIRST_LOOK
    assert [c.text for c in parsed.comments] == [
        "# Kong (RFID backend): Siesa items -> canonical products -> POST /products/bulk"
    ]


def test_header_statements() -> None:
    parsed = parse(
        'version 1\nmapping kong for kong\ntimezone "America/Bogota"\n'
        "every string | trim | empty_to_missing\n",
        "t.map",
    )
    version, mapping, timezone, every = parsed.statements
    assert isinstance(version, VersionStmt) and version.version.value == 1
    assert isinstance(mapping, MappingStmt)
    assert (mapping.name.text, mapping.product, mapping.extends) == (
        "kong",
        Name("kong", Span(2, 18, 2, 22)),
        None,
    )
    assert isinstance(timezone, TimezoneStmt) and timezone.zone.value == "America/Bogota"
    assert isinstance(every, EveryStringStmt)
    assert [step.name.text for step in every.steps] == ["trim", "empty_to_missing"]
    assert every.steps[1].span == Span(4, 21, 4, 39)


def test_mapping_names_take_dashes_and_digits_and_extends_takes_a_file() -> None:
    mapping = only('mapping cliente-a_2 extends "kong.map"')
    assert isinstance(mapping, MappingStmt)
    assert mapping.name.text == "cliente-a_2"
    assert mapping.product is None
    assert mapping.extends is not None and mapping.extends.value == "kong.map"


def test_lookup_entries_keep_their_order_and_spans() -> None:
    lookup = only('lookup categorias {\n  "01" -> "Ropa"\n\n  "02" -> "Calzado"\n}')
    assert isinstance(lookup, LookupStmt)
    assert lookup.name == Name("categorias", Span(1, 8, 1, 18))
    assert [(e.key.value, e.value.value) for e in lookup.entries] == [
        ("01", "Ropa"),
        ("02", "Calzado"),
    ]
    assert lookup.entries[1].span == Span(4, 3, 4, 20)
    assert lookup.span == Span(1, 1, 5, 2)


def test_an_empty_lookup_is_a_lookup_without_entries() -> None:
    lookup = only("lookup nada {\n}")
    assert isinstance(lookup, LookupStmt) and lookup.entries == ()


def test_a_full_field_line() -> None:
    stmt = field(
        "field id string required <- f_codigo -> product_id check length 1..64 "
        'check matches "^[A-Za-z0-9._-]+$"'
    )
    assert stmt.kind == "field"
    assert stmt.name == Name("id", Span(1, 7, 1, 9))
    assert stmt.type == Name("string", Span(1, 10, 1, 16))
    assert stmt.required is True
    assert names(stmt.sources) == ["f_codigo"]
    assert stmt.sources[0].span == Span(1, 29, 1, 37)
    assert stmt.target == Name("product_id", Span(1, 41, 1, 51))
    assert stmt.constant is None and stmt.default is None and stmt.policy is None
    assert stmt.steps is None
    assert stmt.checks is not None
    length, matches = stmt.checks
    assert isinstance(length, LengthCheck)
    assert (length.low and length.low.value, length.high and length.high.value) == (1, 64)
    assert length.span == Span(1, 58, 1, 70)
    assert isinstance(matches, MatchesCheck) and matches.pattern.value == "^[A-Za-z0-9._-]+$"
    assert matches.span == Span(1, 77, 1, 104)


def test_required_and_optional_are_kept_as_written_and_absent_is_none() -> None:
    assert field("field a string required <- x").required is True
    assert field("field a string optional <- x").required is False
    assert field("field a string <- x").required is None


def test_coalescing_sources_constant_and_nested_target() -> None:
    coalesced = field("field display_name string optional <- f_nombre_corto, f_nombre")
    assert names(coalesced.sources) == ["f_nombre_corto", "f_nombre"]
    constant = field('field source string = "siesa"')
    assert constant.sources == () and constant.constant is not None
    assert constant.constant.value == "siesa"
    nested = field("field custom:color string optional <- f_color -> attributes.color")
    assert nested.name.text == "custom:color"
    assert nested.target == Name("attributes.color", Span(1, 50, 1, 66))


def test_steps_with_arguments_accumulate_in_order() -> None:
    stmt = field(
        'field sku string <- f_sku | trim | pad(10, "0") | replace("-", "") '
        "| lookup(codigos, keep) | lookup(tabla) | upper"
    )
    assert stmt.steps is not None
    assert [step.name.text for step in stmt.steps] == [
        "trim",
        "pad",
        "replace",
        "lookup",
        "lookup",
        "upper",
    ]
    pad, replace, lookup_keep = stmt.steps[1], stmt.steps[2], stmt.steps[3]
    assert [getattr(arg, "value", None) for arg in pad.args] == [10, "0"]
    assert pad.span == Span(1, 34, 1, 48)
    assert [getattr(arg, "value", None) for arg in replace.args] == ["-", ""]
    assert lookup_keep.args == (
        Name("codigos", Span(1, 77, 1, 84)),
        Name("keep", Span(1, 86, 1, 90)),
    )


def test_format_step_takes_two_shape_strings() -> None:
    stmt = field(
        "field warehouse_location string <- f_ubicacion "
        '| format("{zone:A}-{aisle:99}-{shelf:99}", "{zone}{aisle}{shelf}")'
    )
    assert stmt.steps is not None
    (fmt,) = stmt.steps
    assert [getattr(arg, "value", None) for arg in fmt.args] == [
        "{zone:A}-{aisle:99}-{shelf:99}",
        "{zone}{aisle}{shelf}",
    ]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ('"Sin categoría"', "Sin categoría"),
        ('"tab\\there \\"quoted\\" \\u00e9"', 'tab\there "quoted" é'),
        ("100", 100),
        ("-3", -3),
        ("1234.50", Decimal("1234.50")),
        ("-0.5", Decimal("-0.5")),
        ("true", True),
        ("false", False),
        ("null", None),
    ],
)
def test_default_literals_keep_their_type(written: str, value: object) -> None:
    stmt = field(f"field a decimal <- x default {written}")
    assert stmt.default is not None
    assert stmt.default.value == value
    assert type(stmt.default.value) is type(value)


def test_every_kind_of_check() -> None:
    stmt = field(
        "field a int <- x check >= 0 check > -1 check <= 10 check < 11 check 1..9.5 "
        'check ean13 check length <= 5 check length >= 2 check in ["A", "B", 3]'
    )
    assert stmt.checks is not None
    ge, gt, le, lt, rng, named, short, long, among = stmt.checks
    assert [(c.op, c.bound.value) for c in (ge, gt, le, lt) if isinstance(c, CompareCheck)] == [
        (">=", 0),
        (">", -1),
        ("<=", 10),
        ("<", 11),
    ]
    assert isinstance(rng, RangeCheck)
    assert (rng.low.value, rng.high.value) == (1, Decimal("9.5"))
    assert isinstance(named, NamedCheck) and named.name == Name("ean13", Span(1, 82, 1, 87))
    assert named.span == Span(1, 82, 1, 87)
    assert isinstance(short, LengthCheck) and short.low is None
    assert short.high is not None and short.high.value == 5
    assert isinstance(long, LengthCheck) and long.high is None
    assert long.low is not None and long.low.value == 2
    assert isinstance(among, InCheck)
    assert [v.value for v in among.values] == ["A", "B", 3]


def test_policy_is_the_name_after_on_invalid() -> None:
    stmt = field("field ean string optional <- f_ean check ean13 on invalid drop")
    assert stmt.policy == Name("drop", Span(1, 59, 1, 63))


def test_clauses_may_come_in_any_order() -> None:
    canonical_order = field(
        'field a string required <- x -> t | trim default "d" check ean13 on invalid warn'
    )
    shuffled = field(
        'field a string required on invalid warn check ean13 default "d" | trim -> t <- x'
    )

    def without_spans(stmt: FieldStmt) -> tuple[object, ...]:
        return (
            names(stmt.sources),
            stmt.target and stmt.target.text,
            [step.name.text for step in stmt.steps or ()],
            stmt.default and stmt.default.value,
            [type(check).__name__ for check in stmt.checks or ()],
            stmt.policy and stmt.policy.text,
        )

    assert without_spans(canonical_order) == without_spans(shuffled)


def test_override_lines_carry_only_what_they_change() -> None:
    parsed = parse(
        'mapping cliente-a extends "kong.map"\n'
        "override ean <- f_ean_13\n"
        "override name required | upper\n"
        "override stock_quantity decimal check >= 1\n"
        "remove rfid_tag_id\n",
        "cliente-a.map",
    )
    _, ean, name, stock, removed = parsed.statements
    assert isinstance(ean, FieldStmt) and ean.kind == "override"
    assert ean.type is None and ean.required is None
    assert names(ean.sources) == ["f_ean_13"]
    assert ean.steps is None and ean.checks is None
    assert isinstance(name, FieldStmt) and name.required is True
    assert name.steps is not None and [s.name.text for s in name.steps] == ["upper"]
    assert isinstance(stock, FieldStmt) and stock.type == Name("decimal", Span(4, 25, 4, 32))
    assert isinstance(removed, RemoveStmt) and removed.name == Name(
        "rfid_tag_id", Span(5, 8, 5, 19)
    )


def test_examples_hold_json_values_and_rejected_fields() -> None:
    parsed = parse(
        'example "custom fields reach attributes" {\n'
        '  in {"f_codigo": "P2", "f_cantidad": 3, "precio": 12.5, "tags": ["a", null, true]}\n'
        '  expect canonical {"id": "P2", "custom:color": "Azul"}\n'
        '  expect product {"attributes": {"color": "Azul"}}\n'
        "  expect reject stock_quantity, custom:color\n"
        "}\n",
        "t.map",
    )
    (example,) = parsed.statements
    assert isinstance(example, Example)
    assert example.name.value == "custom fields reach attributes"
    assert example.input.value == {
        "f_codigo": "P2",
        "f_cantidad": 3,
        "precio": 12.5,
        "tags": ["a", None, True],
    }
    assert example.input.span == Span(2, 6, 2, 84)
    assert example.expect_canonical is not None
    assert example.expect_canonical.value == {"id": "P2", "custom:color": "Azul"}
    assert example.expect_product is not None
    assert example.expect_product.value == {"attributes": {"color": "Azul"}}
    assert example.expect_reject is not None
    assert names(example.expect_reject) == ["stock_quantity", "custom:color"]
    assert example.span == Span(1, 1, 6, 2)


def test_example_json_may_span_lines_and_lines_may_come_in_any_order() -> None:
    example = only(
        'example "negative stock is rejected" {\n'
        "  expect reject stock_quantity\n"
        "  in {\n"
        '    "f_codigo": "P1",  # the id\n'
        "\n"
        '    "f_cantidad": -1\n'
        "  }\n"
        "}"
    )
    assert isinstance(example, Example)
    assert example.input.value == {"f_codigo": "P1", "f_cantidad": -1}
    assert example.input.span == Span(3, 6, 7, 4)
    assert example.expect_canonical is None and example.expect_product is None
    assert example.expect_reject is not None and names(example.expect_reject) == ["stock_quantity"]


def test_comments_are_collected_with_their_spans() -> None:
    parsed = parse(
        '# header\nversion 1  # trailing\nlookup t {\n  # inside\n  "a" -> "b"\n}\n# end',
        "t.map",
    )
    assert [(c.text, c.span) for c in parsed.comments] == [
        ("# header", Span(1, 1, 1, 9)),
        ("# trailing", Span(2, 12, 2, 22)),
        ("# inside", Span(4, 3, 4, 11)),
        ("# end", Span(7, 1, 7, 6)),
    ]


def test_words_that_are_keywords_elsewhere_are_plain_names_here() -> None:
    stmt = field("field default string <- string, lookup | default | check(in) on invalid for")
    assert stmt.name.text == "default"
    assert names(stmt.sources) == ["string", "lookup"]
    assert stmt.steps is not None
    assert [step.name.text for step in stmt.steps] == ["default", "check"]
    assert stmt.steps[1].args == (Name("in", Span(1, 58, 1, 60)),)
    assert stmt.checks is None
    assert stmt.policy is not None and stmt.policy.text == "for"


def test_a_keyword_only_matches_a_whole_word() -> None:
    with pytest.raises(MapError) as caught:
        parse("fieldid string <- f_codigo", "t.map")
    assert "found `fieldid`" in caught.value.render()


def test_misspelled_types_and_steps_are_left_to_the_compiler() -> None:
    stmt = field("field id strng required <- f_codigo | trm check ean31 on invalid rejct")
    assert stmt.type is not None and stmt.type.text == "strng"
    assert stmt.steps is not None and stmt.steps[0].name.text == "trm"
    assert stmt.policy is not None and stmt.policy.text == "rejct"


def test_blank_lines_comment_lines_crlf_and_no_final_newline_are_fine() -> None:
    parsed = parse("\r\n\r\n# c\r\nversion 1\r\n   \r\nremove ean", "t.map")
    assert [type(s).__name__ for s in parsed.statements] == ["VersionStmt", "RemoveStmt"]
    assert parsed.statements[1].span == Span(6, 1, 6, 11)
    assert parsed.comments[0].text == "# c"


def test_an_empty_file_has_no_statements() -> None:
    assert parse("", "t.map").statements == ()
    assert parse("# only a comment\n", "t.map").statements == ()


def test_parse_file_reads_utf8_and_drops_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "kong.map"
    path.write_bytes(b"\xef\xbb\xbf" + b"field category string <- f <- g\n")
    with pytest.raises(MapError) as caught:
        parse_file(path)
    (problem,) = caught.value.diagnostics
    assert problem.path == str(path)
    assert (problem.span.line, problem.span.column) == (1, 28)
    path.write_text('field category string <- f default "Sin categoría"\n', encoding="utf-8")
    stmt = parse_file(path).statements[0]
    assert isinstance(stmt, FieldStmt) and stmt.default is not None
    assert stmt.default.value == "Sin categoría"


def test_parse_file_reports_a_file_that_is_not_utf8_at_its_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.map"
    path.write_bytes(
        'version 1\nfield name string <- f default "Sin categoría"\n'.encode("latin-1")
    )
    with pytest.raises(MapError) as caught:
        parse_file(path)
    (problem,) = caught.value.diagnostics
    assert (problem.span.line, problem.span.column) == (2, 44)
    assert caught.value.render().startswith(
        f"{path}:2:44: error: this file is not UTF-8 text: byte 0xED is not valid here"
    )


def test_parse_file_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MapError) as caught:
        parse_file(tmp_path / "nope.map")
    assert "cannot read the file" in caught.value.diagnostics[0].message


def test_a_source_after_a_literal_is_read_as_a_source_not_a_comparison() -> None:
    # after `default ""` a comparison could follow in an expression too: `<-` must stay one token
    mapfile = parse('version 1\nmapping m for kong\nfield x string default "" <- f\n', "t.map")
    field = mapfile.statements[-1]
    assert isinstance(field, FieldStmt)
    assert [source.text for source in field.sources] == ["f"]


def test_a_tiny_json_number_in_an_example_is_read_as_written() -> None:
    source = 'version 1\nmapping m for kong\nexample "e" {\n  in {"a": 2.2e-313}\n  expect reject id\n}\n'
    example = parse(source, "t.map").statements[-1]
    assert example.input.value["a"].text == "2.2e-313"  # type: ignore[union-attr,index]
