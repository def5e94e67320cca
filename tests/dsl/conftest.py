"""Shared helpers for the `.map` front-end tests."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from dsl.ast import MapFile, Span
from dsl.diagnostics import MapError
from dsl.parser import _parse, parse

REPO = Path(__file__).resolve().parents[2]
LANGUAGE_DOC = REPO / "docs" / "mapping-language.md"


def _fast_and_slow(source: str) -> tuple[object, object]:
    """What `parse` gives (with its readers of plain lines) and what the parser alone gives.

    Each is the MapFile, or the rendered diagnostics when the text has errors.
    """
    try:
        fast: object = parse(source, "x.map")
    except MapError as exc:
        fast = exc.render()
    try:
        slow: object = _parse(source.removeprefix("\ufeff"), "x.map", recover=True)
    except MapError as exc:
        slow = exc.render()
    return fast, slow


def _shape(node: object) -> object:
    """A node with every span left out: what two layouts of one file must share."""
    if isinstance(node, Span):
        return "a span"
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (
            type(node).__name__,
            tuple(
                (f.name, _shape(getattr(node, f.name)))
                for f in dataclasses.fields(node)
                if f.name != "span"
            ),
        )
    if isinstance(node, tuple | list):
        return tuple(_shape(item) for item in node)
    if isinstance(node, dict):
        return {key: _shape(value) for key, value in node.items()}
    return (type(node).__name__, node)


def meaning(mapfile: MapFile) -> object:
    """The statements of a parsed file without positions."""
    return _shape(mapfile.statements)


@pytest.fixture
def fast_and_slow() -> Callable[[str], tuple[object, object]]:
    return _fast_and_slow


@pytest.fixture
def statements_meaning() -> Callable[[MapFile], object]:
    return meaning


def docs_map_blocks() -> list[str]:
    """The fenced `.map` snippets of docs/mapping-language.md that are whole files.

    `{...}` stands for "some JSON" in the docs; it becomes `{}` here.
    """
    fences = re.findall(
        r"^```(\w*)\n(.*?)^```$", LANGUAGE_DOC.read_text(encoding="utf-8"), re.S | re.M
    )
    blocks = [body for language, body in fences if not language]
    files = []
    for block in blocks:
        if "CANONICAL TYPE" in block:  # the field synopsis, not a file
            continue
        files.append(block.replace("{...}", "{}"))
    return files


def docs_fenced_blocks() -> list[str]:
    """Every fenced block without a language in the docs and the README, as written."""
    texts = [
        path.read_text(encoding="utf-8") for path in [REPO / "README.md", *REPO.glob("docs/*.md")]
    ]
    return [
        body
        for text in texts
        for language, body in re.findall(r"^```(\w*)\n(.*?)^```$", text, re.S | re.M)
        if not language
    ]


@pytest.fixture(name="docs_fenced_blocks")
def docs_fenced_blocks_fixture() -> list[str]:
    return docs_fenced_blocks()


@pytest.fixture
def docs_examples() -> list[str]:
    return docs_map_blocks()
