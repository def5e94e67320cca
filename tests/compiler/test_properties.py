"""Property tests: whatever text a `.map` file holds, the compiler never lets it become code.

Arbitrary text goes into every literal position (field names, sources,
targets, regexes, defaults, constants, lookup keys and values, replace
arguments, example names and values). Each case must end either in a clean
MapError or in a module that imports, runs, gives back the text as data, and
never executes it. Injected text that would run sets a flag in `builtins`; no
test may find it set.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from types import ModuleType

import pytest
import re2
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from compiler.checks import check_mapping
from compiler.codegen import generate
from compiler.examples import run_examples
from compiler.helpers import helper_names
from compiler.pipeline import CompiledMapping, compile_source
from compiler.sources import LoadedFile, parse_text
from dsl import ast as map_ast
from dsl.diagnostics import MapError

Compile = Callable[..., CompiledMapping]
Load = Callable[[CompiledMapping], ModuleType]

CANARY = "SIESA_INJECTED"
PAYLOADS = [
    '"',
    "'",
    "\\",
    "\n",
    "\r\n",
    '"""',
    "'''",
    "{{7*7}}",
    "{% for x in y %}",
    "{#",
    "# map:1",
    "\x00",
    "\u2028",
    f"__import__('builtins').__dict__.__setitem__('{CANARY}', 1)",
    f"');__import__('builtins').__dict__.__setitem__('{CANARY}', 1);('",
    f'");__import__("builtins").__dict__.__setitem__("{CANARY}", 1);("',
    f"'''\n__import__('builtins').__dict__.__setitem__('{CANARY}', 1)\n'''",
    f'"""\n__import__("builtins").__dict__.__setitem__("{CANARY}", 1)\n"""',
    f"\n__import__('builtins').__dict__.__setitem__('{CANARY}', 1)\n#",
    "__import__('os')",
    "c_1",
    "_RE_1",
    "}}",
]
texts = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(max_size=24),
    st.text(alphabet="\"'\\\n{}#%()._-aZ09", max_size=12),
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Names a generated module may use: its own identifiers, the prelude's, builtins, the interface.
GENERATED_NAME = re.compile(r"c_\d+|_(RE|LOOKUP|IN|ZONE)_\d+")
LOCALS = {
    "record",
    "get",
    "issues",
    "rejected",
    "v",
    "r",
    "w",
    "m",
    "exc",
    "record_id",
    "issue",
    "canonical",
    "product",
    "value",
    "to_canonical",
    "to_product",
    "map_record",
    "MAPPING",
    "FIELDS",
    "ID_FIELD",
    "LINE_MAP",
    "annotations",
}


def _prelude_and_builtin_names() -> set[str]:
    names = set(helper_names()) | set(dir(builtins))
    names |= {"re", "_re2", "math", "date", "datetime", "tzinfo", "Decimal", "ZoneInfo"}
    # locals and parameters of the prelude's functions
    names |= {
        "value",
        "text",
        "number",
        "word",
        "moment",
        "zone",
        "digits",
        "total",
        "weight",
        "char",
        "field",
        "file",
        "line",
        "reason",
        "action",
        "record",
        "sources",
        "source",
        "name",
        "pattern",
        "options",
        "compiled",
        "regex",
        "data",
    }
    return names


ALLOWED = _prelude_and_builtin_names() | LOCALS


def _assert_inert(compiled: CompiledMapping) -> None:
    """The module's names are all the compiler's own; importing and running it runs no user text."""
    tree = ast.parse(compiled.code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.arg):
            name = node.id if isinstance(node, ast.Name) else node.arg
            assert name in ALLOWED or GENERATED_NAME.fullmatch(name), name
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            assert node.name in ALLOWED, node.name


@pytest.fixture(autouse=True)
def _no_canary() -> Iterator[None]:
    yield
    assert not hasattr(builtins, CANARY), "injected text was executed"


def _lit(text: str) -> str:
    return json.dumps(text)


@FAST
@given(constant=texts, default=texts, pattern=texts, key=texts, value=texts, old=texts, new=texts)
def test_text_in_string_literals_stays_data(
    constant: str, default: str, pattern: str, key: str, value: str, old: str, new: str
) -> None:
    source = (
        "version 1\nmapping t for kong\n"
        f"lookup tabla {{\n  {_lit(key)} -> {_lit(value)}\n}}\n"
        "field id string required <- f_codigo -> product_id\n"
        f"field custom:c string = {_lit(constant)} -> c\n"
        f"field custom:d string optional <- f_d -> d default {_lit(default)}\n"
        f"field custom:l string optional <- f_l -> l | lookup(tabla) | replace({_lit(old)}, {_lit(new)})\n"
        f"field custom:p string optional <- f_p check matches {_lit(pattern)} on invalid warn\n"
    )
    try:
        compiled = compile_source(source, "t.map")
    except MapError as error:
        event("refused with a diagnostic")
        assert error.diagnostics and error.render()
        return
    event("compiled")
    _assert_inert(compiled)
    module = compiled.load()
    canonical, issues = module.to_canonical({"f_codigo": "P1", "f_l": key, "f_p": default})
    expected_l = value.replace(old, new)
    expected = {
        "id": "P1",
        "custom:c": constant,
        "custom:d": default,
        "custom:l": expected_l,
        "custom:p": default,
    }
    assert canonical == expected
    matched = re2.fullmatch(pattern, default) is not None
    assert [(i["field"], i["action"]) for i in issues] == (
        [] if matched else [("custom:p", "warn")]
    )
    assert module.to_product(canonical) == {
        "product_id": "P1",
        "c": constant,
        "d": default,
        "l": expected_l,
    }
    canonical, issues = module.to_canonical({"f_codigo": "P1", "f_d": pattern, "f_l": key + "?"})
    assert canonical is None
    assert [(i["field"], i["value"]) for i in issues] == [("custom:l", key + "?")]


@FAST
@given(pattern=texts, value=texts)
def test_any_regex_either_compiles_and_matches_like_re2_or_is_a_diagnostic(
    pattern: str, value: str
) -> None:
    source = f"version 1\nmapping t for kong\nfield id string required <- f_codigo\nfield custom:x string optional <- f_x check matches {_lit(pattern)}\n"
    try:
        compiled = compile_source(source, "t.map")
    except MapError as error:
        (diagnostic,) = error.diagnostics
        assert "regex" in diagnostic.message or "string" in diagnostic.message
        event("refused with a diagnostic")
        return
    event("compiled")
    module = compiled.load()
    canonical, issues = module.to_canonical({"f_codigo": "P", "f_x": value})
    matched = re2.fullmatch(pattern, value) is not None
    assert (canonical is not None) == matched
    assert bool(issues) == (not matched)


@FAST
@given(name=texts, value=texts, wrong=texts)
def test_any_text_in_examples_is_compared_as_data(name: str, value: str, wrong: str) -> None:
    source = (
        "version 1\nmapping t for kong\nfield id string required <- f_codigo\nfield custom:x string optional <- f_x\n"
        f'example {_lit(name)} {{\n  in {{"f_codigo": "P", "f_x": {_lit(value)}}}\n'
        f'  expect canonical {{"id": "P", "custom:x": {_lit(wrong)}}}\n}}\n'
    )
    try:
        compiled = compile_source(source, "t.map")
    except MapError as error:
        event("refused with a diagnostic")
        assert error.render()
        return
    event("compiled")
    report = run_examples(compiled, "t.map")
    assert report.ok == (value == wrong)
    if not report.ok:
        assert report.failures[0].name == name
        assert "differs" in report.failures[0].render()


def _with_names(canonical: str, source: str, target: str) -> map_ast.MapFile:
    """A parsed mapping whose second field gets arbitrary names (what no parser would let through)."""
    base = parse_text(
        "version 1\nmapping t for kong\nfield id string required <- f_codigo\nfield custom:x string optional <- f_x -> x\n",
        "t.map",
    )
    field = base.statements[-1]
    assert isinstance(field, map_ast.FieldStmt)
    assert field.target is not None
    renamed = replace(
        field,
        name=replace(field.name, text=canonical),
        sources=(replace(field.sources[0], text=source),),
        target=replace(field.target, text=target),
    )
    return replace(base, statements=(*base.statements[:-1], renamed))


@FAST
@given(name=texts, source=texts, target=texts)
def test_arbitrary_names_never_become_identifiers(name: str, source: str, target: str) -> None:
    assume(source != "f_codigo")
    canonical = "custom:" + name
    mapfile = _with_names(canonical, source, target)
    loaded = LoadedFile(mapfile, "t.map", "0" * 64, "/t.map")
    try:
        mapping = check_mapping(
            loaded, lambda child, path: (_ for _ in ()).throw(FileNotFoundError(path))
        )
    except MapError as error:
        event("refused with a diagnostic")
        assert error.render()
        return
    event("compiled")
    compiled = CompiledMapping(mapping, generate(mapping))
    _assert_inert(compiled)
    module = compiled.load()
    canonical_record, issues = module.to_canonical({"f_codigo": "P", source: "valor"})
    assert issues == []
    assert canonical_record == {"id": "P", canonical: "valor"}
    product = module.to_product(canonical_record)
    node: object = product
    for part in target.split("."):
        assert isinstance(node, dict)
        node = node[part]
    assert node == "valor"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(
    record=st.dictionaries(
        st.sampled_from(
            [
                "f_codigo",
                "f_codigo_externo",
                "f_nombre",
                "f_nombre_corto",
                "f_ean",
                "f_cantidad",
                "f_ubicacion",
                "f_zona",
                "f_color",
                "f_talla",
                "f_referencia",
            ]
        ),
        json_values,
    )
)
def test_any_erp_record_is_mapped_or_rejected_with_reasons_never_crashes(
    product_modules: dict[str, ModuleType], record: dict[str, object]
) -> None:
    for name in ("kong", "wms"):
        module = product_modules[name]
        canonical, issues = module.to_canonical(record)
        json.dumps(issues)  # issues are data a run report can hold
        if canonical is None:
            assert any(issue["severity"] == "error" for issue in issues)
        else:
            assert list(canonical) == [field["canonical"] for field in module.FIELDS]
            json.dumps(module.to_product(canonical))
