"""Fuzzing the `.map` compiler on whole files: no generated module ever executes text from the file.

tests/compiler/test_properties.py puts arbitrary text into each literal
position of a small file. Here the real product mappings (mappings/kong.map,
wms.map) are mutated: text inserted at any offset, a line replaced, a comment
added, or a statement appended with the text in a position that file does
not cover (format shapes, pad characters, `in` lists, the time zone, the
`every string` steps, lookup names). Each mutation ends in a MapError that
renders, or in a module that

- imports only the standard modules the compiler emits and RE2,
- names only what the compiler names: no identifier of the injected text
  that the compiler would not write anyway, no dangerous builtin,
- loads through the runtime's own loader and runs on records without the
  injected code ever running (it would set a flag in builtins or os.environ).

And a comment is only a comment: whatever follows `#`, the module is the same.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compiler.helpers import helper_names
from compiler.pipeline import CompiledMapping, compile_source
from dsl.diagnostics import MapError
from local.provision import MAPPINGS_DIR

FLAG = "SIESA_FUZZ_RAN"
RUN = f"__import__('builtins').__dict__.__setitem__('{FLAG}', 1)"
PAYLOADS = [
    RUN,
    f"');{RUN};('",
    f'");{RUN};("',
    f"'''\n{RUN}\n'''",
    f'"""\n{RUN}\n"""',
    f"\n{RUN}\n#",
    f"__import__('os').environ.__setitem__('{FLAG}', '1')",
    "{{7*7}}",
    "{% for x in y %}{% endfor %}",
    "{#",
    "}}",
    "\\",
    '"',
    "'",
    "\x00",
    "\u2028",
    "c_1",
    "_RE_1",
    "exec(open('x').read())",
    "import os; os.system('true')",
    "{zone:A}",
    "{9:99}",
    "lambda: 0",
    "field id string required <- f_codigo",
]
SOURCES = {
    name: (MAPPINGS_DIR / name).read_text(encoding="utf-8") for name in ("kong.map", "wms.map")
}
# The standard modules the compiler emits, and google-re2's extension (`check matches`).
ALLOWED_IMPORTS = {"__future__", "re", "math", "decimal", "datetime", "zoneinfo", "_re2"}
FORBIDDEN_NAMES = {
    "exec",
    "eval",
    "compile",
    "__import__",
    "open",
    "globals",
    "locals",
    "vars",
    "getattr",
    "setattr",
    "delattr",
    "breakpoint",
    "input",
    "__builtins__",
    "os",
    "sys",
    "subprocess",
    "builtins",
    "importlib",
}
ALLOWED_DUNDERS = {"__class__", "__name__"}
GENERATED = re.compile(r"c_\d+|_(RE|LOOKUP|IN|ZONE|FORMAT|PAD)_\d+")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

texts = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=30))


def _identifiers(code: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.alias):
            found.add(node.asname or node.name)
    return found


VOCABULARY = (
    set().union(*(_identifiers(compile_source(text, name).code) for name, text in SOURCES.items()))
    | set(helper_names())
    | {"date", "datetime", "timedelta", "timezone", "ZoneInfo", "tzinfo", "Decimal"}
)
"""What the compiler writes for the real mappings, plus every prelude helper."""


@pytest.fixture(autouse=True)
def _never_ran() -> Iterator[None]:
    yield
    assert not hasattr(builtins, FLAG), "text from a .map file was executed"
    assert FLAG not in os.environ, "text from a .map file was executed"


def assert_inert(compiled: CompiledMapping, injected: str) -> None:
    """The module imports and names only what the compiler writes; the injected text is data."""
    tree = ast.parse(compiled.code)
    foreign = {name for name in IDENTIFIER.findall(injected)} - VOCABULARY
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert {alias.name for alias in node.names} <= ALLOWED_IMPORTS
        elif isinstance(node, ast.ImportFrom):
            assert node.module in ALLOWED_IMPORTS
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id not in FORBIDDEN_NAMES, node.id
    for name in _identifiers(compiled.code):
        assert not (name.startswith("__") and name.endswith("__")) or name in ALLOWED_DUNDERS, name
        assert name in VOCABULARY or GENERATED.fullmatch(name) or name not in foreign, name


def load_and_run(compiled: CompiledMapping, injected: str) -> None:
    """Load through the contract's loader (as Lambda does) and map a few records."""
    module = compiled.load()
    records = [
        {"f_codigo": "P1", "f_codigo_externo": "SIESA-P1", "f_nombre": "Camisa", "f_cantidad": 3},
        {
            "f_codigo": injected,
            "f_nombre": injected,
            "f_cantidad": injected,
            "f_ubicacion": injected,
        },
        {key: injected for key in ("f_codigo", "f_ean", "f_zona", "f_color", "f_z", "f_talla")},
    ]
    for record in records:
        canonical, issues = module.to_canonical(record)
        json.dumps(issues, default=str)
        if canonical is not None:
            json.dumps(module.to_product(canonical), default=str)


def compile_or_refuse(text: str, injected: str) -> CompiledMapping | None:
    try:
        compiled = compile_source(text, "t.map")
    except MapError as error:
        event("refused with a diagnostic")
        assert error.diagnostics and "t.map" in error.render()
        return None
    event("compiled")
    assert_inert(compiled, injected)
    load_and_run(compiled, injected)
    return compiled


@FUZZ
@given(name=st.sampled_from(sorted(SOURCES)), where=st.floats(0, 1), injected=texts)
def test_text_inserted_anywhere_never_runs(name: str, where: float, injected: str) -> None:
    source = SOURCES[name]
    offset = int(where * len(source))
    compile_or_refuse(source[:offset] + injected + source[offset:], injected)


@FUZZ
@given(name=st.sampled_from(sorted(SOURCES)), which=st.integers(0, 200), injected=texts)
def test_a_line_replaced_by_any_text_never_runs(name: str, which: int, injected: str) -> None:
    lines = SOURCES[name].splitlines()
    lines[which % len(lines)] = injected
    compile_or_refuse("\n".join(lines) + "\n", injected)


def _lit(text: str) -> str:
    return json.dumps(text)


STATEMENTS = [
    lambda t: f"field custom:z string optional <- f_z -> z | format({_lit(t)}, {_lit(t)})",
    lambda t: f'field custom:z string optional <- f_z -> z | format("{{a:A}}{t}", "{{a}}")',
    lambda t: f"field custom:z string optional <- f_z -> z | pad(4, {_lit(t)})",
    lambda t: f'field custom:z string optional <- f_z -> z check in [{_lit(t)}, "b"]',
    lambda t: f"field custom:z string optional <- f_z -> z default {_lit(t)} | upper",
    lambda t: f"every string | trim | replace({_lit(t)}, {_lit(t)}) | empty_to_missing",
    lambda t: f"timezone {_lit(t)}",
    lambda t: f"lookup {t} {{\n  {_lit(t)} -> {_lit(t)}\n}}",
    lambda t: f"field custom:z string optional <- f_z -> {t}.z | lookup({t}, keep)",
]


@FUZZ
@given(
    name=st.sampled_from(sorted(SOURCES)),
    statement=st.sampled_from(range(len(STATEMENTS))),
    injected=texts,
)
def test_text_in_every_other_position_of_a_statement_never_runs(
    name: str, statement: int, injected: str
) -> None:
    compile_or_refuse(SOURCES[name] + STATEMENTS[statement](injected) + "\n", injected)


COMMENT_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
    ),
    max_size=40,
) | st.sampled_from([p for p in PAYLOADS if not set(p) & set("\n\r\u2028")])


@FUZZ
@given(
    name=st.sampled_from(sorted(SOURCES)),
    lines=st.lists(st.integers(0, 200), max_size=4),
    comment=COMMENT_TEXT,
)
def test_a_comment_is_only_a_comment(name: str, lines: list[int], comment: str) -> None:
    source = SOURCES[name]
    original = compile_source(source, "t.map")
    rows = source.splitlines()
    statements = [
        i
        for i, row in enumerate(rows)
        if re.match(r"(field|lookup|version|mapping|timezone|every) ", row)
    ]
    for pick in lines:
        row = statements[pick % len(statements)]
        rows[row] = f"{rows[row]}  # {comment}"
    commented = "\n".join(rows) + "\n"
    compiled = compile_source(commented, "t.map")

    def masked(item: CompiledMapping) -> str:
        return item.code.replace(item.mapping.source.sha256, "<source sha256>")

    assert masked(compiled) == masked(original)
