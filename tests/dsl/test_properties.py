"""Properties over generated files: valid ones parse and format idempotently; no input crashes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.ast import MapFile
from dsl.diagnostics import MapError
from dsl.formatter import format_source
from dsl.parser import parse
from dsl.syntax import keyword_spellings

# Generated names avoid every keyword of the grammar (a keyword is a name only in some places).
KEYWORDS = frozenset(
    {word for word in keyword_spellings().values() if word.isidentifier()} | {"custom"}
)
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    database=None,
    # the only fixture used is `statements_meaning`, a pure function
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(lambda n: n not in KEYWORDS)
canonicals = st.one_of(names, names.map(lambda n: f"custom:{n}"))
mapping_names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)
plain_text = st.text(max_size=8)
strings = st.builds(
    lambda text, ascii_only: json.dumps(text, ensure_ascii=ascii_only), plain_text, st.booleans()
)
numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.from_regex(r"-?[0-9]{1,4}\.[0-9]{1,3}", fullmatch=True),
)
literals = st.one_of(strings, numbers, st.sampled_from(["true", "false", "null"]))
gaps = st.sampled_from([" ", " ", "  "])
comment_text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=10
).map(lambda text: "#" + text)


@st.composite
def steps(draw: st.DrawFn) -> str:
    name = draw(names)
    args = draw(st.lists(st.one_of(literals, names), max_size=3))
    return f"| {name}({', '.join(args)})" if args else f"| {name}"


checks = st.one_of(
    strings.map(lambda s: f"check matches {s}"),
    names.map(lambda n: f"check {n}"),
    st.builds(lambda op, n: f"check {op} {n}", st.sampled_from([">=", ">", "<=", "<"]), numbers),
    st.builds(lambda a, b: f"check {a}..{b}", numbers, numbers),
    st.builds(lambda a, b: f"check length {a}..{b}", numbers, numbers),
    st.builds(lambda op, n: f"check length {op} {n}", st.sampled_from(["<=", ">="]), numbers),
    st.lists(literals, min_size=1, max_size=3).map(lambda v: f"check in [{', '.join(v)}]"),
)


@st.composite
def field_clauses(draw: st.DrawFn, *, needs_source: bool) -> list[str]:
    clauses: list[str] = []
    if needs_source or draw(st.booleans()):
        if draw(st.booleans()):
            sources = draw(st.lists(names, min_size=1, max_size=3))
            clauses.append("<- " + ", ".join(sources))
        else:
            clauses.append(f"= {draw(literals)}")
    if draw(st.booleans()):
        clauses.append("-> " + ".".join(draw(st.lists(names, min_size=1, max_size=3))))
    clauses.extend(draw(st.lists(steps(), max_size=3)))
    if draw(st.booleans()):
        clauses.append(f"default {draw(literals)}")
    clauses.extend(draw(st.lists(checks, max_size=3)))
    if draw(st.booleans()):
        clauses.append(f"on invalid {draw(names)}")
    return clauses


@st.composite
def field_lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["field", "override"]))
    parts = [kind, draw(canonicals)]
    if kind == "field" or draw(st.booleans()):
        parts.append(draw(st.sampled_from(["string", "int", "decimal", "bool", "date", "x_type"])))
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["required", "optional"])))
    clauses = draw(field_clauses(needs_source=kind == "field"))
    if kind == "override" and len(parts) == 2 and not clauses:
        clauses = ["| trim"]
    parts.extend(draw(st.permutations(clauses)))
    return draw(gaps).join(parts)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**9), 10**9),
        st.floats(allow_nan=False, allow_infinity=False),
        plain_text,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(plain_text, inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def json_text(draw: st.DrawFn) -> str:
    value = draw(json_values)
    indent = draw(st.sampled_from([None, None, 2]))
    return json.dumps(value, indent=indent, ensure_ascii=draw(st.booleans()))


@st.composite
def example_blocks(draw: st.DrawFn) -> str:
    lines = [f"in {draw(json_text())}"]
    expects = draw(
        st.lists(
            st.sampled_from(["canonical", "product", "reject"]), min_size=1, max_size=3, unique=True
        )
    )
    for expect in expects:
        if expect == "reject":
            lines.append(
                "expect reject " + ", ".join(draw(st.lists(canonicals, min_size=1, max_size=3)))
            )
        else:
            lines.append(f"expect {expect} {draw(json_text())}")
    body = [f"  {line}" for line in draw(st.permutations(lines))]
    if draw(st.booleans()):
        body.insert(draw(st.integers(0, len(body))), "  " + draw(comment_text))
    return f"example {draw(strings)} {{\n" + "\n".join(body) + "\n}"


@st.composite
def lookup_blocks(draw: st.DrawFn) -> str:
    entries = [f"  {draw(strings)} -> {draw(strings)}" for _ in range(draw(st.integers(0, 3)))]
    if draw(st.booleans()):
        entries.insert(draw(st.integers(0, len(entries))), "    " + draw(comment_text))
    return f"lookup {draw(names)} {{\n" + "".join(f"{e}\n" for e in entries) + "}"


single_line_statements = st.one_of(
    st.integers(0, 9).map(lambda n: f"version {n}"),
    st.builds(lambda m, p: f"mapping {m} for {p}", mapping_names, names),
    st.builds(lambda m, s: f"mapping {m} extends {s}", mapping_names, strings),
    strings.map(lambda s: f"timezone {s}"),
    st.lists(steps(), min_size=1, max_size=3).map(lambda s: "every string " + " ".join(s)),
    canonicals.map(lambda c: f"remove {c}"),
    field_lines(),
)


@st.composite
def statements(draw: st.DrawFn) -> str:
    statement = draw(st.one_of(single_line_statements, lookup_blocks(), example_blocks()))
    if draw(st.booleans()):
        statement += draw(gaps) + draw(comment_text)
    if draw(st.booleans()):
        statement = draw(comment_text) + "\n" + statement
    return statement


@st.composite
def map_files(draw: st.DrawFn) -> str:
    parts = draw(st.lists(statements(), max_size=8))
    separators = draw(
        st.lists(
            st.sampled_from(["\n", "\n", "\n\n", "\n  \n\n"]),
            min_size=len(parts),
            max_size=len(parts),
        )
    )
    return "".join(part + sep for part, sep in zip(parts, separators, strict=True))


def comments_of(source: str) -> Counter[str]:
    return Counter(comment.text.rstrip() for comment in parse(source, "t.map").comments)


@SETTINGS
@given(source=map_files())
def test_valid_files_parse_and_format_idempotently(
    source: str, statements_meaning: Callable[[MapFile], object]
) -> None:
    parsed = parse(source, "gen.map")
    once = format_source(source, "gen.map")
    assert format_source(once, "gen.map") == once
    assert statements_meaning(parse(once, "gen.map")) == statements_meaning(parsed)
    assert comments_of(once) == comments_of(source)


def _assert_only_map_errors(source: str) -> None:
    try:
        parse(source, "any.map")
    except MapError as error:
        assert error.diagnostics
        line_count = source.count("\n") + 1
        for diagnostic in error.diagnostics:
            assert 1 <= diagnostic.span.line <= line_count + 1
            assert diagnostic.span.column >= 1
        assert isinstance(error.render(), str)
        return
    once = format_source(source, "any.map")
    assert format_source(once, "any.map") == once


@SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text_only_ever_raises_map_error(source: str) -> None:
    _assert_only_map_errors(source)


@st.composite
def damaged_files(draw: st.DrawFn) -> str:
    source = draw(map_files())
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(source)))
        end = draw(st.integers(start, min(len(source), start + 6)))
        junk = draw(st.text(alphabet='{}[]()"#\t\n,:|<->=.\\ abcfield0', max_size=4))
        source = source[:start] + junk + source[end:]
    return source


@SETTINGS
@given(damaged_files())
def test_damaged_files_only_ever_raise_map_error(source: str) -> None:
    _assert_only_map_errors(source)


def test_statements_meaning_fixture_sees_through_layout(
    statements_meaning: Callable[[MapFile], object],
) -> None:
    tight = parse("field a  string <- x   check ean13", "a.map")
    loose = parse("\n\nfield a string <- x check ean13\n", "b.map")
    different = parse("field a string <- y check ean13", "c.map")
    assert statements_meaning(tight) == statements_meaning(loose)
    assert statements_meaning(tight) != statements_meaning(different)
