"""What each syntax error says, statement kind by statement kind: the first diagnostic of each file."""

from __future__ import annotations

import pytest

from dsl.diagnostics import MapError
from dsl.parser import parse

CASES = [
    (
        "version",
        1,
        8,
        "expected the language version number after `version`, e.g. `version 1`, found the end of the line",
    ),
    (
        "mapping kong",
        1,
        13,
        'expected `for PRODUCT` or `extends "FILE.map"` after the mapping name, found the end of the line',
    ),
    (
        "mapping kong for",
        1,
        17,
        "expected the product after `for`, e.g. `for kong`, found the end of the line",
    ),
    (
        "mapping kong extends kong.map",
        1,
        22,
        'expected the base file as a string after `extends`, e.g. `extends "kong.map"`, found `kong`',
    ),
    (
        "timezone",
        1,
        9,
        'expected the time zone as a string after `timezone`, e.g. `timezone "America/Bogota"`, found the end of the line',
    ),
    ("lookup", 1, 7, "expected the lookup table's name after `lookup`, found the end of the line"),
    ("lookup t", 1, 9, "expected `{` after the lookup table's name, found the end of the line"),
    (
        'lookup t {\n  "a"\n}',
        2,
        6,
        "expected `->` between the lookup key and its value, found the end of the line",
    ),
    (
        'lookup t {\n  "a" ->\n}',
        2,
        9,
        "expected the lookup value as a string after `->`, found the end of the line",
    ),
    (
        "field id string <- x on invalid",
        1,
        32,
        "expected the policy after `on invalid`: `reject`, `drop` or `warn`, found the end of the line",
    ),
    (
        "field id string <- x ->",
        1,
        24,
        "expected a product field after `->`, such as `quantity` or `attributes.color`, found the end of the line",
    ),
    (
        "field id string <- x |",
        1,
        23,
        "expected a step name after `|`, such as `trim` or `lookup(TABLE)`, found the end of the line",
    ),
    (
        "field id string <- x check",
        1,
        27,
        'expected a check after `check`: `matches "REGEX"`, a validator such as `ean13`, `>= N`, `N..M`, `length N..M` or `in [...]`, found the end of the line',
    ),
    (
        "field id string <- x check matches",
        1,
        35,
        "expected a regular expression as a string after `matches`, found the end of the line",
    ),
    (
        "example",
        1,
        8,
        'expected the example\'s name as a string, e.g. `example "a plain record" {`, found the end of the line',
    ),
    ('example "x"', 1, 12, "expected `{` after the example's name, found the end of the line"),
    (
        'example "x" {\n  in\n}',
        2,
        5,
        'expected a JSON value after `in`, e.g. `in {"f_codigo": "P1"}`, found the end of the line',
    ),
    ('example "x" {\n  in {"a" 1}\n}', 2, 11, "expected `:` after the JSON key, found `1`"),
    ('example "x" {\n  in {"a": 1,}\n}', 2, 14, 'expected a JSON key (a "string"), found `}`'),
    (
        'example "x" {\n  in {"a": 1}\n  expect\n}',
        3,
        9,
        "expected `canonical`, `product`, `reject` or `warning` after `expect`, found the end of the line",
    ),
    (
        'example "x" {\n  in 5 6\n  expect reject id\n}',
        2,
        8,
        "expected the end of the line after the JSON value, found `6`",
    ),
    (
        'example "x" {\n  in {"a": {"b": 1 "c"}}\n  expect reject id\n}',
        2,
        20,
        'expected `,` or `}` in the JSON object, found `"c"`',
    ),
    (
        "field id string <- custom:x",
        1,
        26,
        "a `custom:NAME` canonical field cannot stand here: expected a clause (`-> TARGET`, `| STEP`, `default VALUE`, `check CHECK`, `on invalid POLICY`) or the end of the line",
    ),
    (
        "field id string <- x @",
        1,
        22,
        "unexpected character `@`: expected a clause (`-> TARGET`, `| STEP`, `default VALUE`, `check CHECK`, `on invalid POLICY`) or the end of the line",
    ),
    (
        "€",
        1,
        1,
        "unexpected character `€`: expected a statement (`field`, `override`, `remove`, `lookup`, `example`, `every string`, `timezone`, `mapping` or `version`)",
    ),
    (
        "field",
        1,
        6,
        "expected a canonical field name (such as `id`, `name`, `ean` or `custom:NAME`), found the end of the line",
    ),
    (
        "field id 5 <- x",
        1,
        10,
        "expected the field's type (`string`, `int`, `decimal`, `bool`, `date`, `datetime`), found `5`",
    ),
    (
        "override id 5",
        1,
        13,
        "expected a type, `required`, `optional` or a clause after the field name, found `5`",
    ),
    (
        "field id string <- x on",
        1,
        24,
        "expected `invalid` or `missing` after `on` (`on invalid reject`, `drop` or `warn`; "
        "`on missing omit` or `null`), found the end of the line",
    ),
    (
        "every strng | trim",
        1,
        7,
        "expected `string` after `every` (`every string | STEP ...`), found `strng`",
    ),
    ("every string | trim 5", 1, 21, "expected another `| STEP` or the end of the line, found `5`"),
    (
        "field id string <- x default",
        1,
        29,
        'expected a value (a "string", a number, `true`, `false` or `null`) after `default`, found the end of the line',
    ),
    (
        "field id string =",
        1,
        18,
        'expected a constant value (a "string", a number, `true`, `false` or `null`) after `=`, found the end of the line',
    ),
    (
        "field id string <- x | pad(,)",
        1,
        28,
        "expected a step argument (a value or a lookup table's name) or `)`, found `,`",
    ),
    (
        "field id string <- x check in [",
        1,
        32,
        'expected a value (a "string", a number, `true`, `false` or `null`), found the end of the line',
    ),
    (
        "field id string <- x check length",
        1,
        34,
        "expected `N..M`, `<= M` or `>= N` after `length`, found the end of the line",
    ),
    (
        "field id string <- x check 1",
        1,
        29,
        "expected `..` in the range `N..M`, found the end of the line",
    ),
    (
        "field id string <- x check 1..",
        1,
        31,
        "expected a number after `..`, found the end of the line",
    ),
    (
        "field id string <- x check >=",
        1,
        30,
        "expected a number after the comparison, found the end of the line",
    ),
    (
        'lookup t {"a" -> "b"\n}',
        1,
        11,
        'expected the end of the line after `{`: one lookup entry per line, found `"a"`',
    ),
    (
        'example "x" {  in {"a": 1}\n}',
        1,
        16,
        "expected the end of the line after `{`: the example's lines go one per line, found `in`",
    ),
    (
        'example "x" {\n  in {"a": 1}\n  expect reject id\n  expect reject id\n}',
        4,
        3,
        "this example already has `expect reject` at line 3",
    ),
    (
        'example "x" {\n  in {"a": 1}\n  expect canonical {"a": 1}\n  expect canonical {"a": 1}\n}',
        4,
        3,
        "this example already has `expect canonical` at line 3",
    ),
    (
        'mapping kong for kong extends "x.map"',
        1,
        23,
        "expected the end of the line, found `extends`",
    ),
    ("version 1.5.2", 1, 12, "expected the end of the line, found `.`"),
    (
        "field id string optional required <- x",
        1,
        26,
        "expected `<- SOURCE` or `= VALUE` after the field's type, found `required`",
    ),
    (
        "field id string <- x check ean1 3",
        1,
        33,
        "expected a clause (`-> TARGET`, `| STEP`, `default VALUE`, `check CHECK`, `on invalid POLICY`) or the end of the line, found `3`",
    ),
    (
        "field id string <- a, b c",
        1,
        25,
        "expected a clause (`-> TARGET`, `| STEP`, `default VALUE`, `check CHECK`, `on invalid POLICY`) or the end of the line, found `c`",
    ),
    (
        "every strings | trim",
        1,
        7,
        "expected `string` after `every` (`every string | STEP ...`), found `strings`",
    ),
    (
        'every string | pad(5 "0")',
        1,
        22,
        'expected `,` or `)` in the step\'s arguments, found `"0"`',
    ),
    (
        'lookup t {\n  a -> "b"\n}',
        2,
        3,
        'expected a `"key" -> "value"` entry or `}` to close the lookup block, found `a`',
    ),
    (
        "field id string <- a check lenght 1..5",
        1,
        35,
        "expected a clause (`-> TARGET`, `| STEP`, `default VALUE`, `check CHECK`, `on invalid POLICY`) or the end of the line, found `1`",
    ),
    (
        'field id string <- a check in ["a" "b"]',
        1,
        36,
        'expected `,` or `]` in the list, found `"b"`',
    ),
    (
        "field id string = ",
        1,
        19,
        'expected a constant value (a "string", a number, `true`, `false` or `null`) after `=`, found the end of the line',
    ),
    (
        "remove custom:",
        1,
        14,
        "expected a name right after `custom:` (no space), e.g. `custom:color`",
    ),
    (
        "remove custom: x",
        1,
        14,
        "expected a name right after `custom:` (no space), e.g. `custom:color`",
    ),
    (
        "field custom: x string <- a",
        1,
        13,
        "expected a name right after `custom:` (no space), e.g. `custom:color`",
    ),
    ("remove ean x", 1, 12, "expected the end of the line after the field name, found `x`"),
    (
        'example "x" {\n  in {"a": 1}\n  expect reject a b\n}',
        3,
        19,
        "expected `,` and another canonical field name, or the end of the line, found `b`",
    ),
    (
        "fieldx id string <- a",
        1,
        1,
        "expected a statement (`field`, `override`, `remove`, `lookup`, `example`, `every string`, `timezone`, `mapping` or `version`), found `fieldx`",
    ),
    ("field id", 1, 9, "expected the field's type after `id`"),
    (
        'lookup t {\n  "a" -> "b"\nfield x string <- y',
        1,
        10,
        "this lookup block is never closed: expected `}` on a line of its own after its last entry",
    ),
    (
        'example "x" {\n  in {"a": tru}\n  expect reject id\n}',
        2,
        12,
        "expected a JSON value, found `tru`",
    ),
    (
        'example "x" {\n  in {"a": 1}\n  bogus\n}',
        3,
        3,
        "expected `in {...}`, `expect canonical {...}`, `expect product {...}`, `expect reject FIELD`, `expect warning FIELD` or `}` to close the example, found `bogus`",
    ),
    (
        "field id string required <- f_codigo\n\n}",
        3,
        1,
        "unexpected `}`: there is no open block to close",
    ),
]


@pytest.mark.parametrize(("source", "line", "column", "message"), CASES)
def test_first_diagnostic(source: str, line: int, column: int, message: str) -> None:
    with pytest.raises(MapError) as caught:
        parse(source, "t.map")
    first = caught.value.diagnostics[0]
    assert (first.span.line, first.span.column, first.message) == (line, column, message)


@pytest.mark.parametrize(
    ("source", "hint"),
    [
        ("every strings | trim", "did you mean `string`?"),
        ("field id string <- a check lenght 1..5", "did you mean `length`?"),
        ("field id string requried <- a", "did you mean `required`?"),
        ('example "x" {\n  in {"a": nul}\n  expect reject id\n}', "did you mean `null`?"),
        (
            "field id string <- x required",
            "`required` goes right after the type, e.g. `field id string required <- f_codigo`",
        ),
    ],
)
def test_hints(source: str, hint: str) -> None:
    with pytest.raises(MapError) as caught:
        parse(source, "t.map")
    assert caught.value.diagnostics[0].hint == hint
