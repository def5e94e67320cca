"""Warnings: each golden file under golden/warnings and the warnings it must give, verbatim.

A warning does not stop compiling; `siesa map check --strict` (CI) fails on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.pipeline import check_file, check_source, compile_file, compile_source
from dsl.diagnostics import MapError

WARNINGS = Path(__file__).parent / "golden" / "warnings"
CASES = sorted(WARNINGS.glob("*.map"))
PRODUCT_TYPES = frozenset({"kong", "wms"})


def _warnings(case: Path) -> str:
    mapping = check_file(
        case, root=WARNINGS, display=f"golden/warnings/{case.name}", product_types=PRODUCT_TYPES
    )
    return mapping.warnings.render() + "\n"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_a_file_gives_its_expected_warnings(case: Path) -> None:
    expected = case.with_suffix(".expected").read_text(encoding="utf-8")
    assert _warnings(case) == expected


def test_each_rule_has_a_golden_file() -> None:
    found = {case.stem for case in CASES}
    assert {
        "unused_lookup",
        "required_default",
        "lookup_type",
        "untested_column",
        "unknown_product",
        "clean",
    } <= found
    assert all(case.with_suffix(".expected").is_file() for case in CASES)


def test_a_clean_file_has_no_warning() -> None:
    assert _warnings(WARNINGS / "clean.map") == "\n"


def test_warnings_do_not_stop_compiling_and_every_warning_is_a_warning() -> None:
    compiled = compile_file(WARNINGS / "lookup_type.map", root=WARNINGS)
    assert compiled.code
    severities = {d.severity for d in compiled.mapping.warnings.diagnostics}
    assert severities == {"warning"}


def test_the_product_type_is_only_judged_when_the_caller_knows_the_types() -> None:
    mapping = check_file(WARNINGS / "unknown_product.map", root=WARNINGS)
    assert mapping.warnings.diagnostics == ()


def test_a_file_with_errors_reports_errors_only() -> None:
    source = (WARNINGS / "unused_lookup.map").read_text(encoding="utf-8")
    broken = source.replace("| lookup(colores)", "| lookup(colors)")
    with pytest.raises(MapError) as raised:
        check_source(broken, "broken.map", product_types=PRODUCT_TYPES)
    assert {d.severity for d in raised.value.diagnostics} == {"error"}


def test_a_base_files_column_is_judged_by_the_base_not_by_each_child() -> None:
    base = (WARNINGS / "untested_column.map").read_text(encoding="utf-8")
    child = (
        "version 1\n"
        'mapping child extends "base.map"\n'
        "override sku <- f_sku\n"
        'example "sku" {\n'
        '  in {"f_codigo": "P1", "f_nombre": "x"}\n'
        '  expect product contains {"product_id": "P1"}\n'
        "}\n"
    )
    mapping = check_source(child, "child.map", files={"base.map": base})
    assert [(d.path, d.span.line, d.message) for d in mapping.warnings.diagnostics] == [
        ("child.map", 3, "source column `f_sku` appears in no example's `in` record")
    ]


def test_a_lookup_read_before_other_steps_is_not_judged_by_the_fields_type() -> None:
    source = (WARNINGS / "lookup_type.map").read_text(encoding="utf-8")
    source = source.replace(
        "-> quantity | lookup(unidades)", '-> quantity | lookup(unidades) | replace("docena", "12")'
    )
    mapping = check_source(source, "steps.map", product_types=PRODUCT_TYPES)
    messages = [d.message for d in mapping.warnings.diagnostics]
    assert not any("int field `stock_quantity`" in message for message in messages)
    assert any("bool field `custom:active`" in message for message in messages)


def test_an_override_that_replaces_inherited_checks_gets_a_note_naming_the_base_line() -> None:
    base = "version 1\nmapping base for kong\nfield id string required <- f_codigo\nfield ean string optional <- f_ean check ean13\n"
    child = 'version 1\nmapping child extends "base.map"\noverride ean check length 13..13\n'
    mapping = check_source(child, "child.map", files={"base.map": base})
    (note,) = mapping.warnings.diagnostics
    assert note.severity == "note"
    assert (note.path, note.span.line, note.span.column) == ("child.map", 3, 20)
    assert note.message == (
        "this replaces the checks `ean` inherits from base.map:4 (`check ean13`); they no longer run"
    )
    module = compile_source(child, "child.map", files={"base.map": base}).load().module
    canonical, issues = module.to_canonical({"f_codigo": "P", "f_ean": "1234567890123"})
    assert canonical is not None and issues == []  # ean13's check digit rule no longer runs


def test_an_override_that_writes_no_check_keeps_the_inherited_ones_without_a_note() -> None:
    base = "version 1\nmapping base for kong\nfield id string required <- f_codigo\nfield ean string optional <- f_ean check ean13\n"
    child = 'version 1\nmapping child extends "base.map"\noverride ean -> barcode\n'
    assert check_source(child, "child.map", files={"base.map": base}).warnings.diagnostics == ()
