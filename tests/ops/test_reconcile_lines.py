"""Reconcile with a one-to-many mapping: each line of an ERP record is judged on its own.

The mapping is the golden tests/compiler/golden_valid/each_array.map compiled
by the real compiler (`skip when f_activo == "N"`, `each line in f_bodegas`,
one record per warehouse, id `{f_codigo}-{f_bodega}`); the runs' evidence is
what `read_run` makes of a run's reports: the canonical ids it loaded and
its failed-records lines, a rejected line under its own id.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from compiler.pipeline import compile_file
from contract.loaded import LoadedMapping
from ops.catalog_differences import ErpRecord, ReconcileReport
from ops.run_evidence import RunEvidence

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from reconcile_support import BEFORE, LINES_MAP, compared


@pytest.fixture(scope="module")
def mapping() -> LoadedMapping:
    return compile_file(LINES_MAP).load()


def _erp(code: str, *lines: dict[str, Any], active: str = "S") -> ErpRecord:
    return ErpRecord(code, BEFORE, {"f_codigo": code, "f_activo": active, "f_bodegas": list(lines)})


def _line(bodega: str, cantidad: Any) -> dict[str, Any]:
    return {"f_bodega": bodega, "cantidad": cantidad}


def _held(sku: str, quantity: int) -> dict[str, Any]:
    return {"sku": sku, "warehouse": sku.rsplit("-", 1)[1], "quantity": quantity}


def _failed(*line_ids: str) -> dict[str, dict[str, Any]]:
    return {i: {"id": i, "stage": "mapping", "reason": "rejected by the mapping"} for i in line_ids}


def _compare(
    mapping: LoadedMapping, erp: list[ErpRecord], run: RunEvidence, held: dict[str, Any]
) -> ReconcileReport:
    return compared(mapping, erp, run, held, list(held.values()))


def test_each_line_is_judged_on_its_own_and_a_reported_line_is_found_by_its_id(
    mapping: LoadedMapping,
) -> None:
    erp = [
        _erp("P1", _line("01", 5), _line("02", -2)),  # line 2 rejected, and the run reported it
        _erp("P2", _line("01", 3), _line("02", 4)),  # both loaded, the product lost line 2
        _erp("P3", _line("01", 1), _line("02", -1)),  # line 2 rejected, no run reported it
        _erp("P4", _line("01", 9), active="N"),  # skipped
    ]
    run = RunEvidence(
        "run-1",
        "partial",
        None,
        loaded={"P1-01", "P2-01", "P2-02", "P3-01"},
        failed=_failed("P1-02"),
    )
    held = {
        "P1-01": _held("P1-01", 5),
        "P2-01": _held("P2-01", 3),
        "P3-01": _held("P3-01", 1),
        "P9-01": _held("P9-01", 2),  # no ERP record's line
    }

    report = _compare(mapping, erp, run, held)

    assert (report.in_scope, report.loaded, report.reported, report.skipped) == (7, 3, 1, 1)
    found = sorted((d.kind, d.record_id, d.detail) for d in report.differences)
    assert found == [
        ("loaded_but_absent", "P2", "run run-1 counted it as loaded, but the product has no P2-02"),
        (
            "orphan",
            "P9-01",
            "the product holds it, but no ERP record of this client maps to it",
        ),
        (
            "unreported_reject",
            "P3",
            "the mapping rejects it (line 2 (P3-02): stock_quantity: must be >= 0),"
            " but no run reported it",
        ),
    ]


def test_a_line_s_report_does_not_cover_its_sibling_line(mapping: LoadedMapping) -> None:
    erp = [_erp("P1", _line("01", 5), _line("02", 6))]
    failed = {"P1-01": {"id": "P1-01", "stage": "product", "reason": "refused by the WMS"}}
    run = RunEvidence("run-1", "partial", None, loaded={"P1-02"}, failed=failed)

    report = _compare(mapping, erp, run, {"P1-01": _held("P1-01", 4)})

    assert (report.loaded, report.reported) == (0, 1)  # P1-01 held with old stock: reported
    assert [(d.kind, d.detail) for d in report.differences] == [
        ("loaded_but_absent", "run run-1 counted it as loaded, but the product has no P1-02")
    ]


def test_a_line_rejected_on_several_fields_is_one_line_and_rejected_lines_are_found_by_id(
    mapping: LoadedMapping,
) -> None:
    erp = [
        _erp("P1", {"cantidad": -1}, _line("02", 2)),  # line 1: no id, no warehouse, below 0
        _erp("P2", _line("01", -1), _line("02", -3)),  # every line rejected: no record at all
        _erp("P3"),  # no stock lines: nothing to send, as the transformer skips it
    ]
    run = RunEvidence(
        "run-1", "partial", None, loaded={"P1-02"}, failed=_failed("P1#1", "P2-01", "P2-02")
    )

    report = _compare(mapping, erp, run, {"P1-02": _held("P1-02", 2)})

    assert report.differences == []
    assert (report.in_scope, report.loaded, report.reported, report.skipped) == (5, 1, 3, 1)


def test_an_unreported_line_rejected_on_several_fields_is_one_difference_naming_each(
    mapping: LoadedMapping,
) -> None:
    erp = [_erp("P1", {"cantidad": -1}, _line("02", 2))]
    run = RunEvidence("run-1", "succeeded", None, loaded={"P1-02"})

    report = _compare(mapping, erp, run, {"P1-02": _held("P1-02", 2)})

    ((kind, record_id, detail),) = [(d.kind, d.record_id, d.detail) for d in report.differences]
    assert (kind, record_id) == ("unreported_reject", "P1")
    assert detail.startswith("the mapping rejects it (line 1 (P1#1): id: ")
    assert "; custom:bodega: " in detail and "; stock_quantity: must be >= 0" in detail
