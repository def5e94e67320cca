"""Property tests: random typed expressions and odd literals never become code of their own.

Hypothesis builds well-typed expressions over a few declared columns, with
string literals full of quotes, backslashes, braces, newlines and unicode.
Each generated module must pass `py_compile` and `ruff check`, hold every
string literal of the `.map` file only as a repr'd constant, and run.
"""

from __future__ import annotations

import ast
import json
import py_compile
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

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


def expressions(kind: str) -> st.SearchStrategy[str]:
    """Well-typed expression text of `kind` (string, int, decimal, bool)."""
    leaves = {
        "string": st.one_of(strings, st.sampled_from(["s", "t"])),
        "int": st.one_of(ints, st.just("i")),
        "decimal": st.one_of(decimals, st.just("d")),
        "bool": st.sampled_from(["b", "true", "false", "b == true", "s == null", "i != null"]),
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


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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


@FAST
@given(kind=st.sampled_from(["string", "int", "decimal", "bool"]), data=st.data())
def test_random_expressions_generate_inert_valid_code(
    kind: str, data: st.DataObject, tmp_path_factory: object
) -> None:
    expression = data.draw(expressions(kind))
    rule = data.draw(expressions("bool"))
    source = HEAD + f"field custom:x {kind} optional = {expression}\nskip when {rule}\n"
    try:
        compiled = compile_source(source, "t.map")
    except (
        MapError
    ) as error:  # e.g. a literal too odd for a .map string: a diagnostic, never a crash
        assert error.render()
        event("refused with a diagnostic")
        return
    event("compiled")
    directory = Path(tmp_path_factory.mktemp("gen"))  # type: ignore[attr-defined]
    module_path = directory / "generated.py"
    module_path.write_text(compiled.code, encoding="utf-8")
    py_compile.compile(str(module_path), doraise=True)
    result = _ruff(module_path)
    assert result.returncode == 0, result.stdout + result.stderr
    texts = [json.loads(token) for token in _string_tokens(expression + rule)]
    _literals_only_as_constants(compiled.code, texts)
    module = compiled.load().module
    canonical, issues = module.to_canonical(
        {"f_codigo": "P", "s": "ab", "t": "c", "i": 2, "d": "1.5", "b": True}
    )
    json.dumps(issues)
    assert canonical is not None or issues


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
