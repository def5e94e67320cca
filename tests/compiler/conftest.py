"""Shared fixtures for the compiler tests: compiling `.map` text and importing the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from compiler.pipeline import CompiledMapping, compile_file, compile_source

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"

# The smallest valid head of a mapping file: what most test mappings start with.
HEAD = "version 1\nmapping t for kong\n"
ID_LINE = "field id string required <- f_codigo -> product_id\n"

Compile = Callable[..., CompiledMapping]
Load = Callable[[CompiledMapping], ModuleType]


@pytest.fixture(scope="session")
def compile_text() -> Compile:
    """Compile `.map` text; with `head=True` (default) the version/mapping/id lines are added."""

    def run(
        body: str, *, head: bool = True, path: str = "t.map", files: dict[str, str] | None = None
    ) -> CompiledMapping:
        source = HEAD + ID_LINE + body if head else body
        return compile_source(source, path, files=files)

    return run


@pytest.fixture(scope="session")
def load() -> Load:
    """A compiled mapping's module, loaded from its source text as the runtime loads it."""
    return lambda compiled: compiled.load().module


@pytest.fixture(scope="session")
def product_modules() -> dict[str, ModuleType]:
    """kong.map, wms.map and clients/cliente-e.map compiled and imported, once per session."""
    modules: dict[str, ModuleType] = {}
    for name, relative in (
        ("kong", "kong.map"),
        ("wms", "wms.map"),
        ("cliente-e", "clients/cliente-e.map"),
    ):
        compiled = compile_file(MAPPINGS / relative, root=MAPPINGS, display=f"mappings/{relative}")
        modules[name] = compiled.load().module
    return modules


# The snapshots of generated modules are named test_*.py by syrupy; they are data, not tests.
collect_ignore_glob = ["__snapshots__/*"]
