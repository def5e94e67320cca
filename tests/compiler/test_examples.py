"""The example runner: what passes, and how a failure is reported (name, line, a diff)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from compiler.examples import run_examples
from compiler.pipeline import CompiledMapping

Compile = Callable[..., CompiledMapping]
Load = Callable[[CompiledMapping], ModuleType]

MAP = """version 1
mapping t for kong
every string | trim | empty_to_missing
field id string required <- f_codigo -> product_id
field stock_quantity int required <- f_cantidad -> quantity check >= 0
field custom:color string optional <- f_color -> attributes.color

example "passes" {
  in {"f_codigo": " P1 ", "f_cantidad": "3"}
  expect canonical {"id": "P1", "stock_quantity": 3, "custom:color": null}
  expect product {"product_id": "P1", "quantity": 3}
}

example "wrong product" {
  in {"f_codigo": "P1", "f_cantidad": 3, "f_color": "Azul"}
  expect product {"product_id": "P1", "quantity": 3.0, "attributes": {"color": "Rojo"}}
}

example "expected a rejection" {
  in {"f_codigo": "P1", "f_cantidad": 3}
  expect reject stock_quantity
}

example "rejected on other fields" {
  in {"f_cantidad": -1}
  expect reject stock_quantity
}

example "rejected unexpectedly" {
  in {"f_codigo": "P1", "f_cantidad": "x"}
  expect canonical {"id": "P1", "stock_quantity": 1, "custom:color": null}
}
"""


def test_each_failure_names_the_example_its_line_and_what_differs(compile_text: Compile) -> None:
    report = run_examples(compile_text(MAP, head=False), "t.map")
    assert report.total == 5
    assert not report.ok
    failures = {failure.name: failure for failure in report.failures}
    assert set(failures) == {
        "wrong product",
        "expected a rejection",
        "rejected on other fields",
        "rejected unexpectedly",
    }

    wrong = failures["wrong product"]
    assert wrong.line == 14
    rendered = wrong.render()
    assert rendered.startswith(
        't.map:14: example "wrong product" failed: the product record differs:'
    )
    assert '-    "color": "Rojo"' in rendered and '+    "color": "Azul"' in rendered
    assert (
        '-  "quantity": 3.0' in rendered and '+  "quantity": 3' in rendered
    )  # 3.0 is not 3 in JSON terms

    assert (
        failures["expected a rejection"].message
        == "expected a rejection on stock_quantity, but the record was accepted"
    )
    other = failures["rejected on other fields"].message
    assert other.startswith(
        "expected a rejection on stock_quantity, but it was rejected on id, stock_quantity"
    )
    unexpected = failures["rejected unexpectedly"].message
    assert (
        unexpected
        == 'the record was rejected: stock_quantity (line 5): is not a number (value "x")'
    )


def test_the_product_mappings_examples_all_pass(compile_text: Compile) -> None:
    from pathlib import Path

    from compiler.pipeline import compile_file

    mappings = Path(__file__).resolve().parents[2] / "mappings"
    for relative in ("kong.map", "wms.map", "clients/cliente-e.map"):
        report = run_examples(compile_file(mappings / relative, root=mappings), relative)
        assert report.ok, [failure.render() for failure in report.failures]
        assert report.total >= 2


def test_an_example_on_which_generated_code_raises_names_the_map_line(
    compile_text: Compile,
) -> None:
    import dataclasses

    compiled = compile_text(MAP, head=False)
    code = compiled.code.replace("get('f_cantidad')", "1 // 0", 1)
    assert code != compiled.code and code.count("\n") == compiled.code.count("\n")
    report = run_examples(dataclasses.replace(compiled, code=code), "t.map")
    raised = {failure.name: failure.message for failure in report.failures}["passes"]
    assert raised.startswith("the mapping failed at ")
    assert raised.endswith(":5: ZeroDivisionError: integer division or modulo by zero")


def test_an_inherited_field_that_raises_is_shown_in_its_base_file_beside_the_tested_path() -> None:
    import dataclasses
    from pathlib import Path

    from compiler.pipeline import compile_file

    mappings = Path(__file__).resolve().parents[2] / "mappings"
    compiled = compile_file(mappings / "clients/cliente-e.map", root=mappings)
    code = compiled.code.replace("get('f_codigo_externo')", "1 // 0", 1)
    assert code != compiled.code and code.count("\n") == compiled.code.count("\n")
    report = run_examples(
        dataclasses.replace(compiled, code=code), "mappings/clients/cliente-e.map"
    )
    messages = {failure.message for failure in report.failures}
    assert messages and all(
        message.startswith("the mapping failed at mappings/wms.map:") for message in messages
    ), messages
