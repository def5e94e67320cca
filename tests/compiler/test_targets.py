"""Each product target is written by one field: a clash names the earliest field it clashes with."""

from __future__ import annotations

import pytest

from compiler.pipeline import check_source
from dsl.diagnostics import MapError

HEAD = "version 1\nmapping t for kong\nfield id string required <- f_codigo -> product_id\n"


def test_the_same_path_a_path_above_and_a_path_below_all_clash() -> None:
    source = (
        HEAD
        + "field custom:a string <- f_a -> x.y\n"  # line 4: claimed
        + "field custom:b string <- f_b -> x.y\n"  # the same path
        + "field custom:c string <- f_c -> x\n"  # above x.y
        + "field custom:d string <- f_d -> x.y.z\n"  # below x.y
        + "field custom:e string <- f_e -> x.w\n"  # free: x is not claimed
        + "field custom:f string <- f_f -> x\n"  # above x.w (line 8) and x.y (line 4): x.y is first
        + "field custom:g string <- f_g -> w.v\n"  # free
    )
    with pytest.raises(MapError) as raised:
        check_source(source, "t.map")
    assert [(d.span.line, d.message) for d in raised.value.diagnostics] == [
        (5, "product field `x.y` is already the target of `custom:a` (t.map, line 4)"),
        (6, "product field `x` overlaps `x.y`, the target of `custom:a` (t.map, line 4)"),
        (7, "product field `x.y.z` overlaps `x.y`, the target of `custom:a` (t.map, line 4)"),
        (9, "product field `x` overlaps `x.y`, the target of `custom:a` (t.map, line 4)"),
    ]


def test_many_distinct_targets_check_cleanly() -> None:
    fields = "".join(
        f"field custom:c{n} string <- f_{n} -> attributes.group{n % 7}.c{n}\n" for n in range(3000)
    )
    mapping = check_source(HEAD + fields, "t.map")
    assert len(mapping.fields) == 3001
