"""The VS Code extension's TextMate grammar keeps up with the language.

The grammar (editors/vscode/syntaxes/siesa-map.tmLanguage.json) is valid
JSON, its regexes compile, and it tokenizes every keyword the Lark grammar
(dsl/grammar.lark) defines, every type, step, function and validator the
compiler knows, and every character of the repository's `.map` files. Python's
`re` stands in for Oniguruma, the engine editors use: the grammar keeps to the
syntax both read alike (tests/editor/textmate.py says which).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from textmate import Grammar, Token

from compiler.expressions import SIGNATURES
from compiler.names import STEP_SIGNATURES, VALIDATORS
from dsl.syntax import keyword_spellings
from dsl.type_names import TYPE_NAMES

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "editors" / "vscode"
GRAMMAR_PATH = EXTENSION / "syntaxes" / "siesa-map.tmLanguage.json"
KEYWORD_SCOPES = ("keyword.", "storage.type.", "constant.language.", "support.function.")
MAP_FILES = sorted(
    [*(REPO / "mappings").rglob("*.map"), *(REPO / "tests/compiler/golden_valid").glob("*.map")]
)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def grammar() -> Grammar:
    return Grammar(_load(GRAMMAR_PATH))


def _keywords() -> set[str]:
    return {text for text in keyword_spellings().values() if text.isalpha()}


def _scope_of(grammar: Grammar, line: str, word: str, occurrence: int = 0) -> str | None:
    starts = [m.start() for m in re.finditer(rf"(?<![\w:]){re.escape(word)}(?!\w)", line)]
    tokens = [t for t in grammar.tokenize(line) if t.start == starts[occurrence] and t.text == word]
    assert tokens, f"`{word}` is not one token in {line!r}: {grammar.tokenize(line)}"
    return tokens[0].scope


def test_the_grammar_is_json_and_its_regexes_compile(grammar: Grammar) -> None:
    regexes = list(grammar.regexes())
    assert len(regexes) > 20
    for regex in regexes:
        re.compile(regex)
    assert grammar.grammar["scopeName"] == "source.siesa-map"


def _alternatives(regex: str) -> set[str]:
    """The words of a rule written `\\b(a|b|c)\\b`."""
    words = re.fullmatch(r"\\b\((.*)\)\\b", regex)
    assert words is not None, regex
    return set(words.group(1).split("|"))


def test_the_keyword_rules_list_exactly_the_grammar_keywords(grammar: Grammar) -> None:
    listed = set().union(
        *(_alternatives(r["match"]) for r in grammar.repository["keyword"]["patterns"])
    )
    types = _alternatives(grammar.repository["type"]["match"])
    assert listed | (types & _keywords()) == _keywords()
    assert types == set(TYPE_NAMES)


@pytest.mark.parametrize("keyword", sorted(_keywords()))
def test_every_keyword_of_the_lark_grammar_is_tokenized_as_one(
    grammar: Grammar, keyword: str
) -> None:
    assert (_scope_of(grammar, f"  {keyword} x", keyword) or "").startswith(KEYWORD_SCOPES)


def test_steps_functions_validators_and_types_are_tokenized(grammar: Grammar) -> None:
    for step in STEP_SIGNATURES:
        assert (
            _scope_of(grammar, f"field a string <- b | {step}", step)
            == "support.function.step.siesa-map"
        )
    for function in SIGNATURES:
        line = f"field a string = {function}(b)"
        assert _scope_of(grammar, line, function) == "support.function.siesa-map"
    for validator in VALIDATORS:
        line = f"field a string <- b check {validator}"
        assert _scope_of(grammar, line, validator) == "support.constant.validator.siesa-map"
    for type_name in TYPE_NAMES:
        assert _scope_of(grammar, f"column a {type_name}", type_name) == "storage.type.siesa-map"


def test_strings_comments_and_fields(grammar: Grammar) -> None:
    line = 'field custom:color string <- "F \\"COLOR\\" #1" -> attributes.color # a comment: field'
    tokens = grammar.tokenize(line)
    assert _scope_of(grammar, line, "custom:color") == "entity.name.variable.field.siesa-map"
    strings = [
        t.text for t in tokens if t.scope and t.scope.startswith(("string.", "constant.character"))
    ]
    assert "".join(strings) == '"F \\"COLOR\\" #1"'
    assert tokens[-1] == Token(
        "# a comment: field",
        "comment.line.number-sign.siesa-map",
        line.index("#", line.index("->")),
    )


@pytest.mark.parametrize("path", MAP_FILES, ids=[str(p.relative_to(REPO)) for p in MAP_FILES])
def test_every_character_of_the_repositorys_map_files_is_tokenized(
    grammar: Grammar, path: Path
) -> None:
    keywords = _keywords()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for token in grammar.tokenize(line):
            where = f"{path.name}:{number}: {token.text!r}"
            assert token.scope is not None or not token.text.strip(), f"no scope: {where}"
            if token.text in keywords and token.scope and token.scope.startswith("variable."):
                pytest.fail(f"a keyword read as a name: {where}")


def test_the_extension_contributes_the_language_grammar_and_client() -> None:
    package = _load(EXTENSION / "package.json")
    (language,) = package["contributes"]["languages"]
    (contributed,) = package["contributes"]["grammars"]
    assert (language["id"], language["extensions"]) == ("siesa-map", [".map"])
    assert contributed["language"] == "siesa-map"
    assert _load(EXTENSION / contributed["path"])["scopeName"] == contributed["scopeName"]
    configuration = _load(EXTENSION / language["configuration"])
    assert configuration["comments"] == {"lineComment": "#"}
    assert ["{", "}"] in configuration["brackets"]
    assert {"open": '"', "close": '"', "notIn": ["string", "comment"]} in configuration[
        "autoClosingPairs"
    ]
    assert (EXTENSION / package["main"]).is_file()
    assert "vscode-languageclient" in package["dependencies"]
    command = package["contributes"]["configuration"]["properties"]["siesaMap.server.command"]
    assert command["default"] == ["siesa", "map", "lsp"]
    assert "node_modules/" in (EXTENSION / ".gitignore").read_text(encoding="utf-8")


def test_the_default_server_command_is_a_siesa_command() -> None:
    from typer.main import get_command

    from cli.app import app

    group: Any = get_command(app)
    assert "lsp" in group.commands["map"].commands


@pytest.mark.skipif(
    shutil.which("node") is None, reason="node is not installed: cannot parse extension.js"
)
def test_the_extension_script_parses() -> None:
    result = subprocess.run(
        ["node", "--check", str(EXTENSION / "extension.js")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
