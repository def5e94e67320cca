"""The preview's comparison with a one-to-many mapping: each product record by its own id.

Both sides come from the transform core with the real compiler: the golden
tests/compiler/golden_valid/each_array.map (`skip when f_activo == "N"`,
`each line in f_bodegas`, id `{f_codigo}-{f_bodega}`) as the run's mapping,
and copies with one rule changed as the engineer's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from compiler.pipeline import compile_file
from contract.loaded import LoadedMapping
from ops.preview import mapped
from ops.preview_diff import ABSENT, Comparison, compare
from runtime.stages.transform import positioned

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from reconcile_support import LINES_MAP

PAGE = "runs/cliente-l/20250115T100000Z-000abc/extracted/page-00001.ndjson"
RECORDS: list[dict[str, Any]] = [
    {"f_codigo": "P1", "f_bodegas": [{"f_bodega": "B1", "cantidad": 3}, {"f_bodega": "B2", "cantidad": 5}]},
    {"f_codigo": "P2", "f_bodegas": [{"f_bodega": "B1", "cantidad": -1}, {"f_bodega": "B2", "cantidad": 7}]},
    {"f_codigo": "P3", "f_activo": "N", "f_bodegas": [{"f_bodega": "B1", "cantidad": 9}]},
]  # fmt: skip


@pytest.fixture(scope="module")
def run_mapping() -> LoadedMapping:
    return compile_file(LINES_MAP).load()


def changed(tmp_path: Path, *edits: tuple[str, str]) -> LoadedMapping:
    text = LINES_MAP.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1
        text = text.replace(old, new)
    copy = tmp_path / "each_array.map"
    copy.write_text(text, encoding="utf-8")
    return compile_file(copy).load()


def previewed(before: LoadedMapping, after: LoadedMapping) -> Comparison:
    return compare(
        mapped(before, positioned(PAGE, RECORDS)), mapped(after, positioned(PAGE, RECORDS))
    )


def test_the_same_mapping_changes_nothing(run_mapping: LoadedMapping) -> None:
    result = previewed(run_mapping, run_mapping)
    assert (result.erp_records, result.unchanged, result.changed) == (3, 3, 0)
    assert (result.still_rejected, result.still_skipped, result.moved) == (1, 1, [])
    assert result.exit_code == 0


def test_each_line_is_compared_by_its_own_id(run_mapping: LoadedMapping, tmp_path: Path) -> None:
    after = changed(
        tmp_path,
        ("check >= 0", "check >= 4"),
        ("= line.f_bodega -> warehouse", '= "W" + line.f_bodega -> warehouse'),
    )
    result = previewed(run_mapping, after)
    (warehouse,) = result.fields.values()
    assert (warehouse.name, warehouse.count) == ("warehouse", 2)
    assert [(e.record_id, e.before, e.after) for e in warehouse.examples] == [
        ("P1-B2", "B2", "WB2"),
        ("P2-B2", "B2", "WB2"),
    ]
    (rejected,) = result.of_kind("newly_rejected")
    assert (rejected.record_id, rejected.was) == ("P1-B1", "accepted")
    assert rejected.now.startswith("rejected: line 1 (P1-B1): stock_quantity")
    assert (result.unchanged, result.still_rejected, result.still_skipped) == (0, 1, 1)
    assert result.exit_code == 3


def test_a_removed_skip_rule_shows_the_record_and_its_lines(
    run_mapping: LoadedMapping, tmp_path: Path
) -> None:
    after = changed(tmp_path, ('skip when f_activo == "N"\n', ""))
    result = previewed(run_mapping, after)
    (unskipped,) = result.of_kind("no_longer_skipped")
    assert (unskipped.record_id, unskipped.now) == ("P3", "P3-B1 accepted")
    (accepted,) = result.of_kind("newly_accepted")
    assert (accepted.record_id, accepted.was) == ("P3-B1", f"skipped: {unskipped.was[9:]}")
    backwards = compare(
        mapped(after, positioned(PAGE, RECORDS)), mapped(run_mapping, positioned(PAGE, RECORDS))
    )
    (skipped,) = backwards.of_kind("newly_skipped")
    assert (skipped.record_id, skipped.was) == ("P3", "P3-B1 accepted")
    assert backwards.of_kind("newly_accepted") == []


def test_a_field_a_record_gains_is_absent_before(
    run_mapping: LoadedMapping, tmp_path: Path
) -> None:
    after = changed(tmp_path, ("-> warehouse", "-> warehouse.name"))
    result = previewed(run_mapping, after)
    assert sorted(result.fields) == ["warehouse", "warehouse.name"]
    gained = result.fields["warehouse.name"].examples[0]
    assert (gained.before, gained.after) == (ABSENT, "B1")
    assert gained.to_json() == {"id": "P1-B1", "after": "B1"}
