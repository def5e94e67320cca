"""The language server as a real process, speaking the protocol over its stdio."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from lsp_client import LspClient

SERVER = [sys.executable, "-m", "cli", "map", "lsp"]
"""`siesa map lsp`, the command an editor runs (through the interpreter running the tests)."""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mappings root of the tests' own: each test writes the files it needs under it."""
    root = tmp_path_factory.mktemp("maps")
    (root / ".mappings-root").write_text("", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def client(workspace: Path) -> Iterator[LspClient]:
    """One server per test module, initialised; shut down at the end."""
    server = LspClient(SERVER, cwd=workspace)
    try:
        server.initialize(workspace)
        yield server
    finally:
        server.close()
