"""The line-map reader: an exception in generated code -> the `.map` file and line behind it.

Each test compiles a real `.map` file and swaps one generated line for one that
raises (the line count stays, so the line map still describes the text).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.pipeline import CompiledMapping, compile_file, compile_source
from contract.linemap import MapLocation, failure_reason, locate
from contract.loaded import LoadedMapping, load_mapping, sha256_hex

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
KONG_RECORD = {"f_codigo": "P1", "f_codigo_externo": "E1", "f_nombre": "Camisa", "f_cantidad": 3}

BASE = (
    "version 1\n"  # 1
    "mapping base for kong\n"  # 2
    "field id string required <- f_codigo -> product_id\n"  # 3
    "field name string required <- f_nombre -> name\n"  # 4
    "field sku string optional <- f_referencia\n"  # 5
)
CHILD = (
    "version 1\n"  # 1
    'mapping child extends "base.map"\n'  # 2
    "override sku <- f_sku\n"  # 3: the line of the base's `id`
    "\n"  # 4
    "\n"  # 5
    "field custom:color string optional <- f_color\n"  # 6: no field of the base is on line 6
)


def raising(compiled: CompiledMapping, line: str, instead: str) -> LoadedMapping:
    """The compiled mapping loaded with its first generated `line` replaced by `instead`."""
    code = compiled.code.replace(line, instead, 1)
    assert code != compiled.code and code.count("\n") == compiled.code.count("\n")
    data = code.encode("utf-8")
    entry = compiled.manifest_entry().model_copy(update={"module_sha256": sha256_hex(data)})
    return load_mapping(data, entry, name=entry.name, origin=entry.module, where="manifest.json")


def _raised(mapping: LoadedMapping, record: dict[str, object]) -> BaseException:
    with pytest.raises(Exception) as raised:
        mapping.to_canonical(record)
    return raised.value


@pytest.fixture(scope="module")
def kong() -> CompiledMapping:
    return compile_file(MAPPINGS / "kong.map", root=MAPPINGS)


@pytest.fixture(scope="module")
def child() -> CompiledMapping:
    return compile_source(CHILD, "child.map", files={"base.map": BASE})


def test_a_field_that_raises_is_found_at_its_line(kong: CompiledMapping) -> None:
    mapping = raising(kong, "v = r = get('f_nombre')", "v = r = 1 // 0")
    exc = _raised(mapping, KONG_RECORD)
    where = locate(exc, mapping)
    assert where == MapLocation("kong.map", 19)
    assert failure_reason(exc, where) == (
        "the mapping failed at kong.map:19: ZeroDivisionError: integer division or modulo by zero"
    )


def test_a_helper_that_raises_is_charged_to_the_field_that_called_it(kong: CompiledMapping) -> None:
    doc = '    """A value read from the ERP as text; numbers in plain notation (12.0 -> "12")."""'
    mapping = raising(kong, doc, "    raise KeyError('from _text')")
    exc = _raised(mapping, {**KONG_RECORD, "f_codigo": 5})  # a number: `_text` turns it into text
    assert isinstance(exc, KeyError)
    assert locate(exc, mapping) == MapLocation("kong.map", 16)


def test_a_line_outside_every_field_is_charged_to_the_nearest_field(kong: CompiledMapping) -> None:
    mapping = raising(kong, "    get = record.get", "    get = record.no_such_method")
    exc = _raised(mapping, KONG_RECORD)
    assert isinstance(exc, AttributeError)
    assert locate(exc, mapping) == MapLocation("kong.map", 16)


def test_an_inherited_field_names_the_base_file(child: CompiledMapping) -> None:
    mapping = raising(child, "v = r = get('f_nombre')", "v = r = 1 // 0")
    assert locate(_raised(mapping, {"f_codigo": "P"}), mapping) == MapLocation("base.map", 4)


def test_a_field_of_the_extending_file_names_that_file(child: CompiledMapping) -> None:
    mapping = raising(child, "v = r = get('f_color')", "v = r = 1 // 0")
    assert locate(_raised(mapping, {"f_codigo": "P"}), mapping) == MapLocation("child.map", 6)


def test_a_line_both_files_use_is_given_to_the_extending_file(child: CompiledMapping) -> None:
    # base.map:3 (`id`) and child.map:3 (the override of `sku`): the line alone cannot tell them
    # apart, and the file being compiled is the documented choice
    mapping = raising(child, "v = r = get('f_codigo')", "v = r = 1 // 0")
    assert locate(_raised(mapping, {"f_codigo": "P"}), mapping) == MapLocation("child.map", 3)


def test_an_exception_raised_elsewhere_has_no_location(kong: CompiledMapping) -> None:
    mapping = kong.load()
    try:
        raise ValueError("not in the mapping")
    except ValueError as exc:
        assert locate(exc, mapping) is None
        assert failure_reason(exc, None) == "the mapping failed: ValueError: not in the mapping"


def test_a_location_is_put_under_the_directory_it_was_compiled_from() -> None:
    assert str(MapLocation("kong.map", 19).under("mappings")) == "mappings/kong.map:19"
    assert str(MapLocation("../wms.map", 6).under("mappings/clients")) == "mappings/wms.map:6"
    assert str(MapLocation("kong.map", 1).under(".")) == "kong.map:1"
