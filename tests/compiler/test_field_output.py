"""Version 2's field clauses: `as number`, `on missing`, raw and dotted sources, quoted targets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from compiler.examples import run_examples
from compiler.pipeline import compile_file, compile_source
from dsl.formatter import format_source
from dsl.parser import parse

VALID = Path(__file__).parent / "golden" / "valid"
HEAD2 = "version 2\nmapping t for kong\n"


class PythonModuleSnapshot(SingleFileSnapshotExtension):
    """One snapshot per test, stored as a `.py` file."""

    file_extension = "py"
    _write_mode = WriteMode.TEXT


@pytest.mark.parametrize("case", sorted(VALID.glob("*.map")), ids=lambda case: case.stem)
def test_valid_golden_files_compile_and_their_examples_hold(case: Path) -> None:
    compiled = compile_file(case, root=VALID)
    report = run_examples(compiled, str(case))
    assert report.total >= 3
    assert report.ok, [failure.render() for failure in report.failures]


def test_generated_code_of_the_v2_field_clauses(snapshot: SnapshotAssertion) -> None:
    code = compile_file(VALID / "exact_fields.map", root=VALID).code
    assert code == snapshot.use_extension(PythonModuleSnapshot)


def _module(body: str) -> object:
    return compile_source(HEAD2 + body, "t.map").load().module


def test_a_decimal_is_a_string_unless_the_target_says_as_number() -> None:
    module = _module(
        "field id string required <- f_codigo -> product_id\n"
        "field custom:a decimal optional <- f_a -> a\n"
        "field custom:b decimal optional <- f_b -> b as string\n"
        "field custom:c decimal optional <- f_c -> c as number\n"
    )
    record = {"f_codigo": "P", "f_a": Decimal("1.50"), "f_b": "1.234,50", "f_c": Decimal("0.10")}
    canonical, issues = module.to_canonical(record)  # type: ignore[attr-defined]
    assert issues == []
    product = module.to_product(canonical)  # type: ignore[attr-defined]
    assert product == {"product_id": "P", "a": "1.50", "b": "1234.50", "c": Decimal("0.10")}
    assert str(product["c"]) == "0.10"


def test_a_warned_value_that_is_no_number_leaves_as_it_came() -> None:
    module = _module(
        "field id string required <- f_codigo -> product_id\n"
        "field custom:c decimal optional <- f_c -> c as number on invalid warn\n"
    )
    canonical, issues = module.to_canonical({"f_codigo": "P", "f_c": "abc"})  # type: ignore[attr-defined]
    assert [issue["action"] for issue in issues] == ["warn"]
    assert module.to_product(canonical) == {"product_id": "P", "c": "abc"}  # type: ignore[attr-defined]


def test_missing_values_follow_on_missing_and_keep_the_old_default() -> None:
    module = _module(
        "field id string required <- f_codigo -> product_id\n"
        "field custom:a string optional <- f_a -> a\n"
        "field custom:b string optional <- f_b -> b on missing omit\n"
        "field custom:c string optional <- f_c -> x.c\n"
        "field custom:d string optional <- f_d -> x.d on missing null\n"
        "field custom:e string optional <- f_e -> x.e on missing omit\n"
        "field custom:f string optional <- f_f -> f on missing null\n"
    )
    canonical, _ = module.to_canonical({"f_codigo": "P"})  # type: ignore[attr-defined]
    product = module.to_product(canonical)  # type: ignore[attr-defined]
    assert product == {"product_id": "P", "a": None, "f": None, "x": {"d": None}}


def test_a_dotted_path_through_a_non_object_is_an_issue_naming_the_key() -> None:
    module = _module("field id string required <- cab.codigo -> product_id\n")
    canonical, issues = module.to_canonical({"cab": [1, 2]})  # type: ignore[attr-defined]
    assert canonical is None
    (issue,) = issues
    assert issue["reason"] == "'codigo' is looked up inside a list, not an object"
    assert issue["field"] == "id"
    assert module.to_canonical({"cab": {"codigo": " P9 "}})[0] == {"id": " P9 "}  # type: ignore[attr-defined]
    assert module.to_canonical({"cab": None})[1][0]["reason"] == "is required but missing"  # type: ignore[attr-defined]


def test_the_record_id_of_issues_is_read_through_a_dotted_id_path() -> None:
    module = _module(
        "field id string required <- cab.codigo -> product_id\n"
        "field stock_quantity int required <- f_cantidad -> quantity\n"
    )
    _, issues = module.to_canonical({"cab": {"codigo": "P7"}, "f_cantidad": "x"})  # type: ignore[attr-defined]
    assert issues[0]["record_id"] == "P7"


def test_a_hash_inside_a_quoted_name_is_not_a_comment() -> None:
    source = HEAD2 + 'field id string required <- "F #1" -> "id #2"  # a comment\n'
    parsed = parse(source, "t.map")
    field = parsed.statements[-1]
    assert field.sources[0].text == '"F #1"'  # type: ignore[union-attr]
    assert field.target.text == '"id #2"'  # type: ignore[union-attr]
    assert [comment.text for comment in parsed.comments] == ["# a comment"]
    module = compile_source(source, "t.map").load().module
    canonical, _ = module.to_canonical({"F #1": "P"})
    assert module.to_product(canonical) == {"id #2": "P"}


def test_a_bad_escape_in_a_quoted_source_is_a_diagnostic() -> None:
    with pytest.raises(Exception) as raised:
        parse(HEAD2 + 'field id string required <- "F \\q" -> id\n', "t.map")
    assert "invalid escape in a quoted source" in str(raised.value.diagnostics[0].message)  # type: ignore[attr-defined]


ROUND_TRIP = [
    'field id string required <- "F CODIGO #1", cabecera.codigo -> "item-id"',
    'field custom:p decimal optional <- cab."precio unit" -> attributes."p-u" as number on missing null',
    "field custom:q decimal optional <- f_q -> q as string on invalid warn on missing omit",
]


@pytest.mark.parametrize("line", ROUND_TRIP)
def test_the_formatter_writes_the_new_clauses_back_as_written(line: str) -> None:
    source = HEAD2 + line + "\n"
    assert format_source(source, "t.map") == source


def test_the_formatter_keeps_example_numbers_as_written() -> None:
    source = (
        HEAD2 + 'example "e" {\n'
        '  in {"a": 12.50, "b": 1e3, "c": -0, "d": 12345678901234567890.125, "e": 7}\n'
        "  expect reject id\n}\n"
    )
    assert format_source(source, "t.map") == source
    (example,) = parse(source, "t.map").statements[-1:]
    values = example.input.value  # type: ignore[union-attr]
    assert values["e"] == 7 and type(values["e"]) is int
    assert values["d"] == Decimal("12345678901234567890.125")
    assert str(values["a"]) == "12.50"
