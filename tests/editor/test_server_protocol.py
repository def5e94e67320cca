"""`siesa map lsp` driven over its real protocol: diagnostics, completion, hover, definition, format.

One server process per module (conftest.py), spoken to as an editor does:
JSON-RPC with Content-Length framing over its stdin and stdout. Each test
writes its own files under the module's mappings root and opens them by URI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsp_client import LspClient

BASE = """\
version 2
mapping base for kong

lookup categorias {
  "01" -> "Ropa"
}

field id string required <- f_codigo -> product_id
field name string required <- f_nombre -> name check length 1..200
field ean string optional <- f_ean -> barcode check matches "^[0-9]{13}$" check ean13
field category string optional <- f_categoria | lookup(categorias, keep) -> attributes.category
field stock_quantity int required <- f_cantidad -> quantity check >= 0

example "a plain record" {
  in {"f_codigo": "P1", "f_nombre": "Camisa", "f_ean": "7701234567890", "f_categoria": "01", "f_cantidad": 3}
  expect product contains {"product_id": "P1"}
}
"""

CHILD = """\
version 2
mapping cliente-x extends "../base.map"

override ean <- f_ean_alterno

example "the other barcode" {
  in {"f_codigo": "P1", "f_nombre": "Camisa", "f_cantidad": 1, "f_ean_alterno": "7701234567890"}
  expect product contains {"barcode": "7701234567890"}
}
"""


def _write(root: Path, name: str, text: str) -> tuple[Path, str]:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, path.as_uri()


def _at(text: str, needle: str, occurrence: int = 0) -> dict[str, int]:
    """The 0-based line and UTF-16 character where `needle` starts (its n-th occurrence)."""
    offset = -1
    for _ in range(occurrence + 1):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return {"line": line, "character": len(text[start:offset].encode("utf-16-le")) // 2}


def _doc(uri: str, position: dict[str, int] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"textDocument": {"uri": uri}}
    if position is not None:
        params["position"] = position
    return params


def _cli_check(path: Path) -> list[dict[str, Any]]:
    """What `siesa map check --format json` says of the saved file."""
    result = subprocess.run(
        [sys.executable, "-m", "cli", "map", "check", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return list(json.loads(result.stdout))


# --- diagnostics ---------------------------------------------------------------------


def test_an_error_is_published_with_the_range_the_cli_underlines(
    client: LspClient, workspace: Path
) -> None:
    _write(workspace, "base.map", BASE)
    # Two errors (all are collected), one after a character outside the BMP: the protocol
    # counts that emoji as two UTF-16 units, the compiler as one character.
    text = (
        CHILD + 'field custom:icon string optional = "😀" check ean14\noverride sku check ean13\n'
    )
    path, uri = _write(workspace, "clients/errors.map", text)
    client.open(uri, text)
    published = client.diagnostics(uri, version=1)

    expected = _cli_check(path)
    assert len(expected) == 2
    got = [
        (
            d["range"]["start"]["line"],
            d["range"]["start"]["character"],
            d["range"]["end"]["character"],
            d["severity"],
            d["message"].split("\n")[0],
            d["source"],
        )
        for d in published
    ]
    unknown = _at(text, "ean14")
    assert unknown["character"] == text.splitlines()[unknown["line"]].index("ean14") + 1
    assert got[0] == (
        unknown["line"],
        unknown["character"],
        unknown["character"] + 5,
        1,
        "unknown validator `ean14`",
        "siesa map check",
    )
    assert published[0]["message"].endswith("hint: did you mean `ean13`?")
    # The same diagnostics as the CLI: line, message, and the caret's start and width.
    for mine, cli in zip(published, expected, strict=True):
        assert mine["range"]["start"]["line"] == cli["line"] - 1
        assert mine["message"].split("\nhint: ")[0] == cli["message"]
    line = text.splitlines()[expected[1]["line"] - 1]
    sku = published[1]["range"]
    assert line[sku["start"]["character"] : sku["end"]["character"]] == "sku"


def test_a_change_that_fixes_the_error_clears_the_diagnostic(
    client: LspClient, workspace: Path
) -> None:
    _write(workspace, "base.map", BASE)
    broken = CHILD.replace("<- f_ean_alterno", "<- f_ean_alterno | trimm")
    _, uri = _write(workspace, "clients/fixed.map", broken)
    client.open(uri, broken)
    assert [d["message"].split("\n")[0] for d in client.diagnostics(uri, version=1)] == [
        "unknown step `trimm`"
    ]
    client.change(uri, broken.replace("trimm", "trim"), version=2)
    assert client.diagnostics(uri, version=2) == []


def test_warnings_and_a_syntax_error_are_diagnostics_too(
    client: LspClient, workspace: Path
) -> None:
    _write(workspace, "base.map", BASE)
    unused = CHILD + 'lookup tallas {\n  "S" -> "Small"\n}\n'
    _, uri = _write(workspace, "clients/warned.map", unused)
    client.open(uri, unused)
    (warning,) = client.diagnostics(uri, version=1)
    assert warning["severity"] == 2
    assert warning["range"]["start"] == _at(unused, "tallas")
    client.change(uri, CHILD + "override ean <-\n", version=2)
    (syntax,) = client.diagnostics(uri, version=2)
    assert syntax["severity"] == 1
    assert syntax["range"]["start"]["line"] == CHILD.count("\n")


def test_an_error_in_the_base_file_is_published_on_the_base(
    client: LspClient, workspace: Path
) -> None:
    _, base_uri = _write(workspace, "broken/base.map", BASE.replace("check ean13", "check ean15"))
    _, uri = _write(workspace, "broken/child.map", CHILD.replace("../base.map", "base.map"))
    client.forget("textDocument/publishDiagnostics")
    client.open(uri, CHILD.replace("../base.map", "base.map"))
    assert client.diagnostics(uri, version=1) == []
    (on_base,) = client.diagnostics(base_uri)
    assert on_base["message"].startswith("unknown validator `ean15`")


# --- completion --------------------------------------------------------------------


def _labels(client: LspClient, uri: str, position: dict[str, int]) -> list[str]:
    answer = client.request("textDocument/completion", _doc(uri, position))
    items = answer["items"] if isinstance(answer, dict) else answer
    return [item["label"] for item in items]


def test_completion_offers_what_fits_where_the_cursor_is(
    client: LspClient, workspace: Path
) -> None:
    _write(workspace, "base.map", BASE)
    text = (
        BASE
        + "\nfield custom:talla string optional <- f_\n"
        + "field custom:grupo string optional <- f_categoria | lookup(\n"
        + "field custom:marca string optional <- f_marca | \n"
        + "field custom:total decimal optional = \n"
        + "field custom:peso \n"
        + "override \n"
        + "ov\n"
        + 'example "typing" {\n'
        + "  ex\n"
        + "  expect \n"
    )
    _, uri = _write(workspace, "completion.map", text)
    client.open(uri, BASE)  # the names come from the last text that parsed
    client.diagnostics(uri, version=1)
    client.change(uri, text, version=2)
    client.diagnostics(uri, version=2)

    def after(needle: str) -> list[str]:
        """What is offered with the cursor after `needle` (a trailing newline only anchors it)."""
        position = _at(text, needle)
        position["character"] += len(needle.rstrip("\n"))
        return _labels(client, uri, position)

    sources = after("<- f_\n")
    assert {"f_codigo", "f_nombre", "f_ean", "f_categoria", "f_cantidad"} <= set(sources)
    assert after("| lookup(") == ["categorias"]
    steps = after("f_marca | ")
    assert {"trim", "upper", "pad", "lookup", "format"} <= set(steps)
    expression = after("decimal optional = ")
    assert {"round", "coalesce", "to_utc"} <= set(expression)
    assert {"int", "decimal", "datetime"} <= set(after("custom:peso "))
    assert {"id", "ean", "stock_quantity", "rfid_tag_id", "custom:"} <= set(after("override "))
    keywords = after("ov\n")
    assert {"field", "override", "remove", "lookup", "example", "column", "each"} <= set(keywords)
    assert after("  ex\n") == ["expect", "in"]  # inside an example block
    expect = after("expect \n")
    assert {"canonical", "product", "products", "reject", "warning", "skip"} == set(expect)


# --- hover -------------------------------------------------------------------------


def _hover(client: LspClient, uri: str, position: dict[str, int]) -> str:
    answer = client.request("textDocument/hover", _doc(uri, position))
    assert answer is not None
    return str(answer["contents"]["value"])


def test_hover_shows_type_and_doc(client: LspClient, workspace: Path) -> None:
    text = BASE.replace(
        "field stock_quantity int",
        "column f_peso decimal\nfield custom:kg decimal optional = round(f_peso / 1000, 3, half_up)\n"
        "field stock_quantity int",
    )
    _, uri = _write(workspace, "hover.map", text)
    client.open(uri, text)
    client.diagnostics(uri, version=1)
    field = _hover(client, uri, _at(text, "stock_quantity int"))
    assert "field stock_quantity: int required" in field and "the units in stock" in field
    assert "round(x, SCALE, MODE) -> decimal" in _hover(client, uri, _at(text, "round("))
    step = _hover(client, uri, _at(text, "lookup(categorias"))
    assert "lookup(TABLE) or lookup(TABLE, keep): string -> string" in step
    validator = _hover(client, uri, _at(text, "ean13"))
    assert "check ean13: string" in validator and "EAN-13" in validator
    assert "check matches: string" in _hover(client, uri, _at(text, "matches"))
    assert "check >= N: int, decimal" in _hover(client, uri, _at(text, ">= 0"))

    # While the file does not parse, a known word is still explained from its line.
    broken = text + "field custom:x string <-\n"
    client.change(uri, broken, version=2)
    assert client.diagnostics(uri, version=2)
    assert "round(x, SCALE, MODE) -> decimal" in _hover(client, uri, _at(broken, "round("))
    assert "field ean" in _hover(client, uri, _at(broken, "ean string"))


# --- go to definition --------------------------------------------------------------


def test_definition_of_extends_and_of_an_overridden_field(
    client: LspClient, workspace: Path
) -> None:
    base_path, _ = _write(workspace, "base.map", BASE)
    base_uri = base_path.resolve().as_uri()
    text = CHILD + "override category | lookup(categorias) -> attributes.category\n"
    _, uri = _write(workspace, "clients/definition.map", text)
    client.open(uri, text)
    client.diagnostics(uri, version=1)

    def definition(needle: str) -> dict[str, Any]:
        found = client.request("textDocument/definition", _doc(uri, _at(text, needle)))
        assert found is not None, needle
        return dict(found)

    target = definition("../base.map")
    assert target["uri"] == base_uri
    assert target["range"]["start"] == {"line": 0, "character": 0}

    field = definition("ean <-")  # the overridden field: its `field` line in the base
    ean = _at(BASE, "ean string")
    assert field["uri"] == base_uri
    assert field["range"] == {"start": ean, "end": {**ean, "character": ean["character"] + 3}}

    table = definition("categorias)")  # a lookup the base declares
    assert (table["uri"], table["range"]["start"]) == (base_uri, _at(BASE, "categorias {"))


# --- formatting --------------------------------------------------------------------


def test_formatting_is_siesa_map_fmt(client: LspClient, workspace: Path) -> None:
    messy = "version 2\nmapping   messy    for kong\n\n\n\nfield id string required -> product_id <- f_codigo\n"
    path, uri = _write(workspace, "messy.map", messy)
    client.open(uri, messy)
    client.diagnostics(uri, version=1)
    (edit,) = client.request(
        "textDocument/formatting", {**_doc(uri), "options": {"tabSize": 2, "insertSpaces": True}}
    )
    subprocess.run(
        [sys.executable, "-m", "cli", "map", "fmt", str(path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert edit["newText"] == path.read_text(encoding="utf-8") != messy
    assert edit["range"] == {
        "start": {"line": 0, "character": 0},
        "end": {"line": 6, "character": 0},
    }

    client.change(uri, messy + "field name string <-\n", version=2)
    client.diagnostics(uri, version=2)
    assert (
        client.request(
            "textDocument/formatting",
            {**_doc(uri), "options": {"tabSize": 2, "insertSpaces": True}},
        )
        == []
    )


@pytest.mark.parametrize("method", ["textDocument/hover", "textDocument/definition"])
def test_a_position_on_nothing_known_answers_null(
    client: LspClient, workspace: Path, method: str
) -> None:
    _, uri = _write(workspace, "plain.map", BASE)
    client.open(uri, BASE)
    client.diagnostics(uri, version=1)
    assert client.request(method, _doc(uri, {"line": 0, "character": 0})) is None
