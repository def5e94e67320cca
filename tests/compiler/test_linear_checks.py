"""Checking stays linear in the file's size, on the error paths too (issue 11, Safety)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from compiler import checks
from compiler.pipeline import check_source
from dsl.diagnostics import MapError

_FIELDS = "".join(
    f"field custom:c{n} string optional <- f_c{n} -> attributes.c{n}\n" for n in range(300)
)


def test_a_file_without_its_version_line_reads_the_version_once_not_once_per_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0
    original: Callable[..., int] = checks.file_version

    def counting(*args: object) -> int:
        nonlocal calls
        calls += 1
        return original(*args)

    monkeypatch.setattr(checks, "file_version", counting)
    source = (
        "mapping bench for kong\nfield id string required <- f_codigo -> product_id\n" + _FIELDS
    )
    with pytest.raises(MapError) as raised:
        check_source(source)
    assert "missing `version 1`" in raised.value.render()
    assert calls <= 3
