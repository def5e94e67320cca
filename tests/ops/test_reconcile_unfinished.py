"""A failed run's report does not count: what no finished run delivered is missing, and what repairs it.

The mapping is the golden one-to-many mapping of reconcile_support.py; the
runs' evidence is built by hand, as `read_run` makes it of a run's reports.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compiler.pipeline import compile_file
from contract.loaded import LoadedMapping
from ops.catalog_differences import ErpRecord, ReconcileReport, compare
from ops.repair import next_steps
from ops.run_evidence import RunEvidence

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from reconcile_support import BEFORE, LINES_MAP, WATERMARK

STOPPED = {"stage": "product", "reason": "not loaded: the run stopped on ProductUnavailable"}


@pytest.fixture(scope="module")
def mapping() -> LoadedMapping:
    return compile_file(LINES_MAP).load()


def _erp(code: str) -> ErpRecord:
    lines = [{"f_bodega": "01", "cantidad": 5}]
    return ErpRecord(code, BEFORE, {"f_codigo": code, "f_activo": "S", "f_bodegas": lines})


def _report(
    mapping: LoadedMapping, runs: list[RunEvidence], erp: list[ErpRecord]
) -> ReconcileReport:
    report = compare(
        report=ReconcileReport("cliente-l", "wms", "stock-per-warehouse", None, WATERMARK),
        mapping=mapping,
        id_field="sku",
        erp=erp,
        scope_before=WATERMARK,
        runs=runs,
        read_product=lambda product_id: None,  # the product came back empty
        listing=[],
    )
    report.next_steps = next_steps(report)
    return report


def _stopped(run_id: str, *ids: str) -> RunEvidence:
    return RunEvidence(run_id, "failed", None, failed={i: {"id": i, **STOPPED} for i in ids})


def test_a_record_only_a_failed_run_reported_is_missing_and_its_replay_repairs_it(
    mapping: LoadedMapping,
) -> None:
    report = _report(mapping, [_stopped("run-2", "P1-01", "P2-01")], [_erp("P1"), _erp("P2")])

    assert (report.in_scope, report.reported, report.lost) == (2, 0, 2)
    assert [(d.kind, d.record_id, d.run_id) for d in report.differences] == [
        ("missing", "P1", "run-2"),
        ("missing", "P2", "run-2"),
    ]
    assert report.differences[0].detail == (
        "the product has no P1-01 and no run reported it "
        "(run run-2 did not finish: its report does not count as delivered)"
    )
    assert report.unfinished_runs == ["run-2"]
    assert report.next_steps == ["siesa replay --client cliente-l --run run-2"]


def test_a_finished_run_s_report_still_counts_and_a_loaded_record_lost_since_is_named(
    mapping: LoadedMapping,
) -> None:
    first = RunEvidence("run-1", "partial", None, loaded={"P1-01"}, failed={"P2-01": STOPPED})
    report = _report(
        mapping, [first, _stopped("run-2", "P1-01", "P2-01")], [_erp("P1"), _erp("P2")]
    )

    assert (report.reported, report.lost) == (1, 1)  # P2: run-1 finished and reported it
    (difference,) = report.differences
    assert (difference.kind, difference.record_id, difference.run_id) == (
        "loaded_but_absent",
        "P1",
        "run-2",
    )
    assert difference.detail.startswith("run run-1 counted it as loaded")
    assert report.next_steps == ["siesa replay --client cliente-l --run run-2"]


def test_records_no_failed_run_names_take_an_initial_sync(mapping: LoadedMapping) -> None:
    report = _report(mapping, [_stopped("run-2", "P1-01")], [_erp("P1"), _erp("P3")])

    assert {d.record_id: d.run_id for d in report.differences} == {"P1": "run-2", "P3": None}
    assert report.next_steps == ["siesa sync --client cliente-l --sync-type initial --wait"]


def test_a_clean_report_has_no_next_step(mapping: LoadedMapping) -> None:
    finished = RunEvidence("run-1", "success", None, failed={"P1-01": STOPPED})
    report = _report(mapping, [finished], [_erp("P1")])

    assert report.ok and report.next_steps == []
