"""Property tests: random typed expressions and odd literals never become code of their own.

Hypothesis builds well-typed expressions over a few declared columns, with
string literals full of quotes, backslashes, braces, newlines and unicode.
The same expressions also build one-to-many mappings (`each line in {k:
expr, ...}, ...` with keys that are Python keywords and dunder names, and
fields reading `line.k`). Each generated module must pass `py_compile` and
`ruff check`, hold every string literal of the `.map` file only as a repr'd
constant, and run. Each example spawns ruff: the example counts stay modest.
"""

from __future__ import annotations

import ast
import json
import py_compile
import subprocess
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import ModuleType

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compiler.pipeline import compile_source
from dsl.diagnostics import MapError

COLUMNS = {"s": "string", "t": "string", "i": "int", "d": "decimal", "b": "bool"}
HEAD = (
    "version 2\nmapping t for kong\n"
    + "".join(f"column {name} {kind}\n" for name, kind in COLUMNS.items())
    + "field id string required <- f_codigo\n"
)
KINDS = ["string", "int", "decimal", "bool"]
EACH_HEAD = "version 2\nmapping t for kong\ncolumn f_codigo string\n" + "".join(
    f"column {name} {kind}\n" for name, kind in COLUMNS.items()
)
LINE_KEYS = [
    "bodega",
    "k_1",
    "class",
    "def",
    "import",
    "lambda",
    "None",
    "self",
    "line",
    "__init__",
]
"""Keys of written-out lines: plain names, and names that must never become Python code."""
RECORD = {"f_codigo": "P", "s": "ab", "t": "c", "i": 2, "d": "1.5", "b": True}
ODD = [
    '"',
    "'",
    "\\",
    "\n",
    "{{x}}",
    "{%",
    "#",
    "'''",
    '"""',
    "\u2028",
    "\x00",
    "é",
    "😀",
    "__import__('os')",
]
odd_text = st.one_of(st.sampled_from(ODD), st.text(max_size=8))


def _string_literal(text: str) -> str:
    return json.dumps(text)


strings = st.builds(_string_literal, odd_text)
ints = st.integers(min_value=-(10**6), max_value=10**6).map(str)
decimals = st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False).map(
    lambda value: (
        format(Decimal(value), "f")
        if "." in format(Decimal(value), "f")
        else format(Decimal(value), "f") + ".0"
    )
)


def expressions(kind: str, lines: Mapping[str, Sequence[str]] = {}) -> st.SearchStrategy[str]:
    """Well-typed expression text of `kind` (string, int, decimal, bool).

    `lines` adds names a line offers (`line.k`), by kind, to the columns.
    """
    names = {"string": ["s", "t"], "int": ["i"], "decimal": ["d"], "bool": ["b"]}
    columns = st.sampled_from([*names[kind], *lines.get(kind, ())])
    leaves = {
        "string": st.one_of(strings, columns),
        "int": st.one_of(ints, columns),
        "decimal": st.one_of(decimals, columns),
        "bool": st.one_of(
            columns, st.sampled_from(["true", "false", "b == true", "s == null", "i != null"])
        ),
    }[kind]

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        pair = st.tuples(children, children)
        if kind == "string":
            return st.one_of(
                pair.map(lambda p: f"{p[0]} + {p[1]}"),
                children.map(lambda c: f"upper({c})"),
                pair.map(lambda p: f'join("-", {p[0]}, {p[1]})'),
                st.tuples(children, strings, strings).map(
                    lambda p: f'replace_regex({p[0]}, "[a-z]+", {p[2]})'
                ),
                st.tuples(children, children).map(lambda p: f"coalesce({p[0]}, {p[1]})"),
                st.tuples(st.sampled_from(["b", "s == t"]), children, children).map(
                    lambda p: f"when {p[0]} then {p[1]} else {p[2]}"
                ),
                st.tuples(children, ints, ints).map(lambda p: f"substring({p[0]}, {p[1]}, {p[2]})"),
            )
        if kind in ("int", "decimal"):
            ops = st.sampled_from(["+", "-", "*"])
            return st.one_of(
                st.tuples(children, ops, children).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
                children.map(lambda c: f"-{c}"),
                st.tuples(st.sampled_from(["b", "i > 0", "d <= 1.5"]), children, children).map(
                    lambda p: f"(when {p[0]} then {p[1]} else {p[2]})"
                ),
            ) | (
                st.tuples(children, children).map(lambda p: f"round({p[0]} / {p[1]}, 2, half_even)")
                if kind == "decimal"
                else children.map(lambda c: f"length(text({c}))")
            )
        return st.one_of(
            pair.map(lambda p: f"{p[0]} and {p[1]}"),
            pair.map(lambda p: f"({p[0]} or {p[1]})"),
            children.map(lambda c: f"not {c}"),
            children.map(lambda c: f"(when {c} then true else {c})"),
            st.tuples(strings, strings).map(lambda p: f"{p[0]} == {p[1]}"),
        )

    return st.recursive(leaves, extend, max_leaves=6)


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ruff(path: Path) -> subprocess.CompletedProcess[str]:
    ruff = Path(sys.executable).with_name("ruff")
    return subprocess.run(
        [str(ruff), "check", "--no-cache", "--quiet", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def _literals_only_as_constants(code: str, texts: list[str]) -> None:
    """Every string the .map file wrote is a whole constant in the module, never code."""
    tree = ast.parse(code)
    constants = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
    for text in texts:
        assert text in constants or text == "", text


def _inert_module(source: str, factory: object) -> ModuleType | None:
    """The module `source` compiles to, checked; None when the compiler refused it in words."""
    try:
        compiled = compile_source(source, "t.map")
    except MapError as error:  # e.g. a literal too odd for a .map string: a diagnostic, no crash
        assert error.render()
        event("refused with a diagnostic")
        return None
    event("compiled")
    directory = Path(factory.mktemp("gen"))  # type: ignore[attr-defined]
    module_path = directory / "generated.py"
    module_path.write_text(compiled.code, encoding="utf-8")
    py_compile.compile(str(module_path), doraise=True)
    result = _ruff(module_path)
    assert result.returncode == 0, result.stdout + result.stderr
    texts = [json.loads(token) for token in _string_tokens(source)]
    _literals_only_as_constants(compiled.code, texts)
    return compiled.load().module


@FAST
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_random_expressions_generate_inert_valid_code(
    kind: str, data: st.DataObject, tmp_path_factory: object
) -> None:
    expression = data.draw(expressions(kind))
    rule = data.draw(expressions("bool"))
    source = HEAD + f"field custom:x {kind} optional = {expression}\nskip when {rule}\n"
    module = _inert_module(source, tmp_path_factory)
    if module is None:
        return
    canonical, issues = module.to_canonical(dict(RECORD))
    json.dumps(issues)
    assert canonical is not None or issues


@st.composite
def written_lines(draw: st.DrawFn) -> tuple[str, dict[str, list[str]], str]:
    """`{k: expr, ...}, {k: expr, ...}` (each key of one kind), the `line.k` names by kind, a key."""
    keys = draw(st.lists(st.sampled_from(LINE_KEYS), min_size=1, max_size=3, unique=True))
    kinds = {key: draw(st.sampled_from(KINDS)) for key in keys}
    objects = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        order = draw(st.permutations(keys))
        values = (f"{key}: {draw(expressions(kinds[key]))}" for key in order)
        objects.append("{" + ", ".join(values) + "}")
    by_kind: dict[str, list[str]] = {}
    for key, kind in kinds.items():
        by_kind.setdefault(kind, []).append(f"line.{key}")
    return ", ".join(objects), by_kind, keys[0]


EACH = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@EACH
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_random_each_lines_generate_inert_valid_code(
    kind: str, data: st.DataObject, tmp_path_factory: object
) -> None:
    objects, line_names, key = data.draw(written_lines())
    expression = data.draw(expressions(kind, line_names))
    source = (
        EACH_HEAD
        + f"each line in {objects}\n"
        + f'field id string required = f_codigo + "-" + text(line.{key})\n'
        + f"field custom:x {kind} optional = {expression}\n"
    )
    module = _inert_module(source, tmp_path_factory)
    if module is None:
        return
    records, issues = module.map_record(dict(RECORD))
    json.dumps([records, issues])
    assert records or issues
    assert all(str(record["id"]).startswith("P-") for record in records)


def _string_tokens(expression: str) -> list[str]:
    """The JSON string literals written in an expression, in order."""
    found: list[str] = []
    index = 0
    while index < len(expression):
        if expression[index] != '"':
            index += 1
            continue
        end = index + 1
        while expression[end] != '"':
            end += 2 if expression[end] == "\\" else 1
        found.append(expression[index : end + 1])
        index = end + 1
    return found
