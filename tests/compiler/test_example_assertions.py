"""`expect warning FIELD` and `expect product contains {...}` in examples: what holds, what fails."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from compiler.examples import issue_text, run_examples
from compiler.pipeline import CompiledMapping
from dsl.diagnostics import MapError

Compile = Callable[..., CompiledMapping]

MAP = """version 1
mapping t for kong
field id string required <- f_codigo -> product_id
field stock_quantity int optional <- f_cantidad -> quantity check >= 0 on invalid warn
field custom:color string optional <- f_color -> attributes.color
field custom:size string optional <- f_talla -> attributes.size

example "contains: a part of the product, nested objects cut down too" {
  in {"f_codigo": "P1", "f_cantidad": 3, "f_color": "Azul", "f_talla": "M"}
  expect product contains {"quantity": 3, "attributes": {"color": "Azul"}}
}

example "contains: a wrong value" {
  in {"f_codigo": "P1", "f_cantidad": 3, "f_color": "Azul"}
  expect product contains {"attributes": {"color": "Rojo"}}
}

example "contains: a missing key" {
  in {"f_codigo": "P1", "f_cantidad": 3}
  expect product contains {"barcode": null}
}

example "warning: on the named field" {
  in {"f_codigo": "P1", "f_cantidad": -2}
  expect warning stock_quantity
  expect product contains {"product_id": "P1"}
}

example "warning: expected but none" {
  in {"f_codigo": "P1", "f_cantidad": 2}
  expect warning stock_quantity
}
"""


def _failures(compile_text: Compile) -> dict[str, str]:
    report = run_examples(compile_text(MAP, head=False), "t.map")
    assert report.total == 5
    return {failure.name: failure.message for failure in report.failures}


def test_contains_and_warning_pass_when_they_hold(compile_text: Compile) -> None:
    failures = _failures(compile_text)
    assert "contains: a part of the product, nested objects cut down too" not in failures
    assert "warning: on the named field" not in failures


def test_contains_shows_a_diff_of_the_part_it_names(compile_text: Compile) -> None:
    failures = _failures(compile_text)
    assert failures["contains: a wrong value"] == (
        "the product record does not contain what the example expects:\n"
        "--- expected product\n+++ actual product\n@@ -1,5 +1,5 @@\n"
        ' {\n   "attributes": {\n-    "color": "Rojo"\n+    "color": "Azul"\n   }\n }'
    )
    assert '-  "barcode": null' in failures["contains: a missing key"]


def test_an_expected_warning_that_does_not_come_fails(compile_text: Compile) -> None:
    failures = _failures(compile_text)
    assert failures["warning: expected but none"] == (
        "expected a warning on stock_quantity, but there was none"
    )


def test_a_warning_on_another_field_names_it(compile_text: Compile) -> None:
    body = MAP.replace(
        "expect warning stock_quantity\n  expect product", "expect warning id\n  expect product"
    )
    report = run_examples(compile_text(body, head=False), "t.map")
    messages = {failure.name: failure.message for failure in report.failures}
    assert messages["warning: on the named field"].startswith(
        "expected a warning on id, but the warnings were on stock_quantity: stock_quantity (line 4): "
    )


def test_expect_warning_names_a_field_of_the_mapping(compile_text: Compile) -> None:
    body = MAP.replace(
        "expect warning stock_quantity\n  expect product", "expect warning stock\n  expect product"
    )
    with pytest.raises(MapError) as raised:
        compile_text(body, head=False)
    assert [d.message for d in raised.value.diagnostics] == [
        "`expect warning`: the mapping has no field `stock`"
    ]


def test_contains_must_be_an_object(compile_text: Compile) -> None:
    body = MAP.replace('expect product contains {"barcode": null}', "expect product contains [1]")
    with pytest.raises(MapError) as raised:
        compile_text(body, head=False)
    assert [d.message for d in raised.value.diagnostics] == [
        "`expect product contains` must be a JSON object"
    ]


def test_an_issue_with_no_field_or_line_never_says_none() -> None:
    issue = {"field": None, "line": None, "value": None, "reason": "is not an object"}
    assert issue_text(issue) == "is not an object (value null)"
    issue = {"field": "id", "line": None, "value": "x", "reason": "bad", "action": "reject"}
    assert issue_text(issue, action=True) == 'id: bad (value "x", action reject)'
