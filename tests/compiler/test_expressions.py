"""Version 2 expressions end to end: each operator and function, missing values, DST, rules.

Each case compiles a small mapping whose one computed field is the expression
under test, runs a record through the generated module and looks at the value
(or the issue) that comes out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler.examples import run_examples
from compiler.pipeline import compile_file, compile_source
from dsl.formatter import format_source

VALID = Path(__file__).parent / "golden_valid"
COLUMNS = """\
column s string
column t string
column i int
column j int
column d decimal
column e decimal
column b bool
column day date
column ts datetime
"""


def _compute(
    type_name: str, expression: str, record: dict[str, Any], zone: str = "America/Bogota"
) -> tuple[object, list[tuple[object, object]]]:
    """The value of `field custom:x TYPE optional = EXPRESSION` for `record`, and the issues."""
    source = (
        f'version 2\nmapping t for kong\ntimezone "{zone}"\n{COLUMNS}'
        "field id string required <- f_codigo\n"
        f"field custom:x {type_name} optional = {expression}\n"
    )
    module = compile_source(source, "t.map").load().module
    canonical, issues = module.to_canonical({"f_codigo": "P1", **record})
    value = None if canonical is None else canonical["custom:x"]
    return value, [(issue["field"], issue["reason"]) for issue in issues]


@pytest.mark.parametrize(
    ("type_name", "expression", "record", "expected"),
    [
        ("string", 's + " " + t', {"s": "Camisa", "t": "M"}, "Camisa M"),
        ("int", "i + j * 2", {"i": 1, "j": "3"}, 7),
        ("decimal", "d - e", {"d": "1,5", "e": "0.25"}, "1.25"),
        ("decimal", "i / j", {"i": 1, "j": 4}, "0.25"),
        ("decimal", "d * 2", {"d": 0.1}, "0.2"),
        ("int", "-i", {"i": 5}, -5),
        ("bool", 'i > 1 and not (s == "x")', {"i": 2, "s": "y"}, True),
        ("bool", "i <= 1 or b", {"i": 2, "b": "S"}, True),
        ("bool", "d >= i", {"d": "2.0", "i": 2}, True),
        ("string", 'coalesce(s, t, "none")', {"t": "T"}, "T"),
        ("string", "text(d)", {"d": "1234,50"}, "1234.50"),
        ("string", "text(b)", {"b": "N"}, "false"),
        ("string", "text(day)", {"day": "2024-02-29"}, "2024-02-29"),
        ("string", "upper(s)", {"s": "ñandú"}, "ÑANDÚ"),
        ("string", "lower(s)", {"s": "ABC"}, "abc"),
        ("string", 'trim(s + "  ")', {"s": "a"}, "a"),
        ("int", "length(s)", {"s": "camión"}, 6),
        ("string", "substring(s, 2, 3)", {"s": "abcdef"}, "bcd"),
        ("string", "substring(s, 0, 2)", {"s": "abcdef"}, "a"),
        ("string", "substring(s, 5, 10)", {"s": "abcdef"}, "ef"),
        (
            "string",
            'replace_regex(s, "([0-9]+)-([A-Z]+)", "\\\\2\\\\1")',
            {"s": "01-AB 02-CD"},
            "AB01 CD02",
        ),
        ("string", 'replace_regex(s, "\\\\d", "#")', {"s": "a1٣"}, "a#٣"),
        ("string", 'join("-", s, t, s)', {"s": "a"}, "a-a"),
        ("decimal", "round(d, 2, half_up)", {"d": 2.345}, "2.35"),
        ("decimal", "round(d, 2, half_even)", {"d": 2.345}, "2.34"),
        ("decimal", "round(d, 2, half_down)", {"d": 2.345}, "2.34"),
        ("decimal", "round(d, 0, up)", {"d": "2.1"}, "3"),
        ("decimal", "round(d, 0, down)", {"d": "-2.9"}, "-2"),
        ("decimal", "round(d, 0, ceiling)", {"d": "-2.9"}, "-2"),
        ("decimal", "round(d, 0, floor)", {"d": "-2.1"}, "-3"),
        ("int", "year(day) * 10000 + month(day) * 100 + day(day)", {"day": "2024-02-29"}, 20240229),
        ("int", "day(ts)", {"ts": "2024-01-31 23:00:00"}, 31),
        ("date", "add_days(day, 1)", {"day": "2024-02-28"}, "2024-02-29"),
        ("date", "add_days(day, -1)", {"day": "2024-03-01"}, "2024-02-29"),
        ("datetime", "add_days(ts, 2)", {"ts": "2024-01-30 10:00:00"}, "2024-02-01T10:00:00-05:00"),
        ("string", 'when i > 10 then "many" when i > 0 then "few" else "none"', {"i": 3}, "few"),
        ("decimal", "when b then d else i", {"b": "N", "i": 4}, "4"),
        ("string", 'when b then "yes"', {"b": "N"}, None),
    ],
)
def test_each_operator_and_function(
    type_name: str, expression: str, record: dict[str, Any], expected: object
) -> None:
    assert _compute(type_name, expression, record) == (expected, [])


@pytest.mark.parametrize(
    ("expression", "record", "expected"),
    [
        ("s + t", {"s": "a"}, None),  # a missing operand makes the result missing
        ("text(i + 1)", {}, None),
        ("text(s == t)", {}, "true"),  # == compares missing like null
        ('text(s != "a")', {}, "true"),
        ("text(i < 1)", {}, "false"),  # ordering with missing is false
        ("text(i >= 1)", {}, "false"),
        ("text(b and true)", {}, "false"),  # and/or/not treat missing as false
        ("text(b or true)", {}, "true"),
        ("text(not b)", {}, "true"),
    ],
)
def test_missing_values(expression: str, record: dict[str, Any], expected: object) -> None:
    assert _compute("string", expression, record) == (expected, [])


def test_a_missing_value_follows_the_fields_rules() -> None:
    source = (
        "version 2\nmapping t for kong\ncolumn s string\ncolumn t string\n"
        "field id string required <- f_codigo\n"
        'field name string required = s + t\nfield custom:x string optional = s + t default "-"\n'
    )
    module = compile_source(source, "t.map").load().module
    canonical, issues = module.to_canonical({"f_codigo": "P1", "s": "a"})
    assert canonical is None
    assert [(i["field"], i["reason"]) for i in issues] == [("name", "is required but missing")]
    canonical, _ = module.to_canonical({"f_codigo": "P1", "s": "a", "t": "b"})
    assert canonical == {"id": "P1", "name": "ab", "custom:x": "ab"}


def test_division_by_zero_rejects_the_field() -> None:
    assert _compute("decimal", "d / i", {"d": 1, "i": 0}) == (
        None,
        [("custom:x", "division by zero")],
    )


def test_a_column_that_cannot_be_read_is_named_in_the_fields_issue() -> None:
    assert _compute("decimal", "d * 2", {"d": "doce"}) == (
        None,
        [("custom:x", "column d is not a number")],
    )


def test_nested_and_raw_sources() -> None:
    source = (
        "version 2\nmapping t for kong\n"
        'column codigo string <- "F CODIGO"\ncolumn cab string <- cabecera.codigo\n'
        "field id string required <- f_codigo\n"
        "field custom:x string optional = codigo + cab\n"
    )
    module = compile_source(source, "t.map").load().module
    canonical, _ = module.to_canonical(
        {"f_codigo": "P", "F CODIGO": "A", "cabecera": {"codigo": "B"}}
    )
    assert canonical is not None and canonical["custom:x"] == "AB"


UTC_CALL = 'to_utc(ts, "America/Santiago", gap={gap}, overlap={overlap})'


@pytest.mark.parametrize(
    ("local", "gap", "overlap", "expected"),
    [
        # 2024-09-08 00:00-01:00 does not exist in Santiago (clocks jump to 01:00, -04 -> -03)
        ("2024-09-08 00:30:00", "shift_forward", "reject", "2024-09-08T04:30:00+00:00"),
        # 2024-04-06 23:00-24:00 happens twice (clocks go back at midnight, -03 -> -04)
        ("2024-04-06 23:30:00", "reject", "earlier", "2024-04-07T02:30:00+00:00"),
        ("2024-04-06 23:30:00", "reject", "later", "2024-04-07T03:30:00+00:00"),
        ("2024-06-01 12:00:00", "reject", "reject", "2024-06-01T16:00:00+00:00"),
        ("2024-01-15 12:00:00", "reject", "reject", "2024-01-15T15:00:00+00:00"),
        ("2024-01-15 12:00:00-05:00", "reject", "reject", "2024-01-15T17:00:00+00:00"),
    ],
)
def test_to_utc_on_santiago(local: str, gap: str, overlap: str, expected: str) -> None:
    expression = UTC_CALL.format(gap=gap, overlap=overlap)
    assert _compute("datetime", expression, {"ts": local}) == (expected, [])


@pytest.mark.parametrize(
    ("local", "reason"),
    [
        (
            "2024-09-08 00:30:00",
            "2024-09-08T00:30:00 does not exist in America/Santiago: the clocks skip it",
        ),
        (
            "2024-04-06 23:30:00",
            "2024-04-06T23:30:00 happens twice in America/Santiago: the clocks go back",
        ),
    ],
)
def test_to_utc_rejects_what_the_mapping_says_to_reject(local: str, reason: str) -> None:
    expression = UTC_CALL.format(gap="reject", overlap="reject")
    assert _compute("datetime", expression, {"ts": local}) == (None, [("custom:x", reason)])


def test_to_utc_on_bogota_has_no_gap_nor_overlap() -> None:
    expression = 'to_utc(ts, "America/Bogota", gap=reject, overlap=reject)'
    for local, expected in (
        ("2024-09-08 00:30:00", "2024-09-08T05:30:00+00:00"),
        ("2024-04-06 23:30:00", "2024-04-07T04:30:00+00:00"),
    ):
        assert _compute("datetime", expression, {"ts": local}) == (expected, [])


def test_record_rules_run_before_the_fields_in_order() -> None:
    source = (
        "version 2\nmapping t for kong\ncolumn a string\ncolumn n int\n"
        'skip when a == "N"\nreject when n < 0 because "negative"\n'
        "field id string required <- f_codigo\n"
        "field custom:x int required = n\n"
    )
    module = compile_source(source, "t.map").load().module
    assert module.to_canonical({"f_codigo": "P1", "a": "N", "n": -1}) == (
        None,
        [
            {
                "record_id": "P1",
                "field": None,
                "file": "t.map",
                "line": 5,
                "value": None,
                "reason": 'skip when a == "N"',
                "severity": "info",
                "action": "skip",
            }
        ],
    )
    canonical, issues = module.to_canonical({"f_codigo": "P1", "n": -1})
    assert canonical is None
    assert [(i["line"], i["reason"], i["action"]) for i in issues] == [(6, "negative", "reject")]
    canonical, issues = module.to_canonical({"f_codigo": "P1", "n": "x"})
    assert [i["reason"] for i in issues] == [
        "cannot decide `reject when n < 0`: column n is not a number"
    ]
    assert module.to_canonical({"f_codigo": "P1", "n": 2}) == ({"id": "P1", "custom:x": 2}, [])


def test_the_valid_golden_file_passes_its_examples_and_formats_as_it_is() -> None:
    path = VALID / "expressions.map"
    compiled = compile_file(path, root=VALID)
    report = run_examples(compiled, str(path))
    assert report.total == 5
    assert report.ok, [failure.render() for failure in report.failures]
    text = path.read_text(encoding="utf-8")
    assert format_source(text, str(path)) == text


def test_examples_notice_a_skip_they_did_not_expect() -> None:
    source = (
        'version 2\nmapping t for kong\ncolumn a string\nskip when a == "N"\n'
        "field id string required <- f_codigo\n"
        'example "e" {\n  in {"f_codigo": "P", "a": "N"}\n  expect canonical {"id": "P"}\n}\n'
        'example "f" {\n  in {"f_codigo": "P", "a": "S"}\n  expect skip\n}\n'
    )
    report = run_examples(compile_source(source, "t.map"), "t.map")
    messages = [failure.message for failure in report.failures]
    assert messages == [
        'the record was skipped (skip when a == "N", line 4)',
        "expected the record to be skipped, but it was mapped",
    ]


def test_a_one_to_many_example_checks_the_lines_sent_beside_the_lines_rejected() -> None:
    source = (
        "version 2\nmapping t for wms\ncolumn f_codigo string\neach line in f_lines\n"
        "column line.n int\n"
        'field id string required = f_codigo + "-" + text(line.n) -> item_id\n'
        "field stock_quantity int required = line.n -> qty check >= 0\n"
        'example "right" {\n  in {"f_codigo": "P", "f_lines": [{"n": 1}, {"n": -1}]}\n'
        '  expect products [{"item_id": "P-1", "qty": 1}]\n  expect reject stock_quantity\n}\n'
        'example "wrong" {\n  in {"f_codigo": "P", "f_lines": [{"n": 1}, {"n": -1}]}\n'
        '  expect products [{"item_id": "P-1", "qty": 2}]\n  expect reject stock_quantity\n}\n'
    )
    report = run_examples(compile_source(source, "t.map"), "t.map")
    assert [failure.name for failure in report.failures] == ["wrong"]
    assert "qty" in report.failures[0].message


@pytest.mark.parametrize("name", ["each_array", "each_columns"])
def test_each_golden_files_pass_their_examples(name: str) -> None:
    path = VALID / f"{name}.map"
    report = run_examples(compile_file(path, root=VALID), str(path))
    assert report.total >= 2
    assert report.ok, [failure.render() for failure in report.failures]


def test_each_makes_one_record_per_line_and_names_a_rejected_line() -> None:
    module = compile_file(VALID / "each_array.map", root=VALID).load().module
    record = {
        "f_codigo": "P1",
        "f_bodegas": [
            {"f_bodega": "B1", "cantidad": 3},
            {"f_bodega": "B2", "cantidad": -5},
            "not an object",
            {"f_bodega": "B4", "cantidad": "x"},
        ],
    }
    records, issues = module.map_record(record)
    assert records == [{"id": "P1-B1", "custom:bodega": "B1", "stock_quantity": 3}]
    assert [(i["record_id"], i["part"], i["field"], i["reason"]) for i in issues] == [
        ("P1-B2", 2, "stock_quantity", "must be >= 0"),
        ("P1#3", 3, None, "line 3: is a text, not an object"),
        ("P1-B4", 4, "stock_quantity", "column line.f_cantidad is not a number"),
    ]
    assert module.map_record({"f_codigo": "P1", "f_bodegas": 7})[1][0]["reason"] == (
        "f_bodegas is a number, not a list of objects"
    )
    assert module.map_record({"f_codigo": "P1"}) == ([], [])
    assert module.to_canonical(
        {"f_codigo": "P1", "f_bodegas": [{"f_bodega": "B", "cantidad": 1}]}
    ) == (
        {"id": "P1-B", "custom:bodega": "B", "stock_quantity": 1},
        [],
    )
    canonical, issues = module.to_canonical(record | {"f_bodegas": record["f_bodegas"][:1] * 2})
    assert canonical is None and issues[-1]["reason"].startswith("makes 2 records")


def test_each_over_objects_rejects_a_line_whose_values_cannot_be_computed() -> None:
    source = (
        "version 2\nmapping t for wms\ncolumn f_codigo string\ncolumn a decimal\n"
        'each line in {b: "1", q: a}, {b: "2", q: a / 0}\n'
        'field id string required = f_codigo + "-" + line.b\n'
        "field custom:q decimal required = line.q\n"
    )
    module = compile_source(source, "t.map").load().module
    records, issues = module.map_record({"f_codigo": "P", "a": 2})
    assert records == [{"id": "P-1", "custom:q": "2"}]
    assert [(i["record_id"], i["part"], i["reason"]) for i in issues] == [
        ("P#2", 2, "line 2: division by zero")
    ]


def test_rounding_a_number_with_more_digits_than_decimals_hold_rejects_the_field() -> None:
    source = (
        "version 2\nmapping t for kong\ncolumn p decimal\nfield id string required <- f_codigo\n"
        "field custom:w decimal optional = round(p / 1000, 3, half_up) -> attributes.w\n"
    )
    mapping = compile_source(source, "t.map").load()
    records, issues = mapping.map_record({"f_codigo": "A", "p": "1" * 30})
    assert records == []
    assert [(i["field"], i["reason"]) for i in issues] == [
        ("custom:w", "has too many digits to round to 3 decimal places")
    ]
    assert mapping.map_record({"f_codigo": "A", "p": "1250"})[0] == [
        {"id": "A", "custom:w": "1.250"}
    ]


def test_an_issue_of_a_computed_field_shows_the_computed_value() -> None:
    source = (
        "version 2\nmapping t for wms\ncolumn q int\ncolumn p decimal\n"
        "field id string required <- f_codigo -> item_id\n"
        "field stock_quantity int required = q * 2 -> qty check >= 0\n"
        "field custom:price decimal optional = p * 2 -> a.p check >= 0\n"
    )
    mapping = compile_source(source, "t.map").load()
    _, issues = mapping.map_record({"f_codigo": "A", "q": -1, "p": "-1.50"})
    assert [(i["field"], i["value"]) for i in issues] == [
        ("stock_quantity", -2),
        ("custom:price", "-3.00"),
    ]
