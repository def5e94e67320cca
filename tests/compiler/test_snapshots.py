"""Snapshots of the generated kong and wms modules, one reviewable `.py` file each.

A change to the compiler or to a product mapping shows up here as a plain
diff of Python code; update with `pytest --snapshot-update` after review.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from compiler.pipeline import compile_file

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


class PythonModuleSnapshot(SingleFileSnapshotExtension):
    """One snapshot per test, stored as a `.py` file."""

    file_extension = "py"
    _write_mode = WriteMode.TEXT


@pytest.fixture
def module_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(PythonModuleSnapshot)


def test_kong_module(module_snapshot: SnapshotAssertion) -> None:
    assert compile_file(MAPPINGS / "kong.map", root=MAPPINGS).code == module_snapshot


def test_wms_module(module_snapshot: SnapshotAssertion) -> None:
    assert compile_file(MAPPINGS / "wms.map", root=MAPPINGS).code == module_snapshot


def test_expressions_module(module_snapshot: SnapshotAssertion) -> None:
    """Version 2: columns, expressions, conditionals, functions and record rules."""
    valid = Path(__file__).parent / "golden_valid"
    assert compile_file(valid / "expressions.map", root=valid).code == module_snapshot


@pytest.mark.parametrize("name", ["each_array", "each_columns"])
def test_each_module(name: str, module_snapshot: SnapshotAssertion) -> None:
    """Version 2 one-to-many: lines from an array field, and lines written out as objects."""
    valid = Path(__file__).parent / "golden_valid"
    assert compile_file(valid / f"{name}.map", root=valid).code == module_snapshot
