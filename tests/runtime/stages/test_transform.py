"""The transform core with plain records and a stand-in mapping: no S3, no moto."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from runtime.stages import transform
from runtime.stages.transform import (
    ISSUE_KEYS,
    Tally,
    describe_mapping_failure,
    map_record,
    map_records,
    positioned,
)


def _issue(record_id: Any, field: str | None, reason: str, severity: str = "error") -> dict:
    return {
        "record_id": record_id,
        "field": field,
        "line": 7,
        "value": "v",
        "reason": reason,
        "severity": severity,
        "action": "reject" if severity == "error" else "drop",
    }


def _to_canonical(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    code = record.get("f_codigo")
    if str(code).strip() == "BOOM":
        raise KeyError("f_nombre")
    if not record.get("f_nombre"):
        return None, [
            _issue(code, "name", "required value is missing"),
            _issue(code, "ean", "must be 13 digits", "warning"),
        ]
    issues = [_issue(code, "ean", "must be 13 digits", "warning")] if record.get("f_ean") else []
    return {"id": code, "name": record["f_nombre"]}, issues


def _map_record(record: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    canonical, issues = _to_canonical(record)
    return ([] if canonical is None else [canonical]), issues


MAPPING = SimpleNamespace(map_record=_map_record, to_product=dict)


def test_a_mapped_record_gives_its_canonical_record_and_report_lines() -> None:
    outcome = map_record(MAPPING, {"f_codigo": "A1", "f_nombre": "n", "f_ean": "x"}, "p#1")
    assert outcome.canonical == [{"id": "A1", "name": "n"}]
    assert outcome.rejections == []
    assert outcome.record_id == "A1"
    assert outcome.report == [
        {
            "record_id": "A1",
            "field": "ean",
            "line": 7,
            "value": "v",
            "reason": "must be 13 digits",
            "severity": "warning",
            "action": "drop",
            "file": None,
            "part": None,
            "position": "p#1",
        }
    ]
    assert list(outcome.report[0]) == [*ISSUE_KEYS, "position"]


def test_a_rejected_record_carries_its_error_reasons_and_the_raw_record() -> None:
    raw = {"f_codigo": "B2", "f_nombre": ""}
    outcome = map_record(MAPPING, raw, "p#2")
    assert outcome.canonical == []
    assert outcome.record_id == "B2"
    assert outcome.rejections == [
        {
            "id": "B2",
            "stage": "mapping",
            "reason": "name: required value is missing",
            "retryable": False,
            "position": "p#2",
            "record": raw,
        }
    ]
    assert [line["severity"] for line in outcome.report] == ["error", "warning"]


def test_a_mapping_that_raises_rejects_the_record_with_the_failure_described() -> None:
    outcome = map_record(MAPPING, {"f_codigo": " BOOM "}, "p#3")
    assert outcome.canonical == []
    reason = "the mapping failed: KeyError: 'f_nombre'"
    assert describe_mapping_failure(MAPPING, KeyError("f_nombre")) == (reason, None)
    assert [line["reason"] for line in outcome.rejections] == [reason]
    assert outcome.record_id == "BOOM"  # from the raw record, the mapping gave none
    assert outcome.report[0]["reason"] == reason and outcome.report[0]["line"] is None


def test_the_failure_reason_and_line_come_from_describe_mapping_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        transform, "describe_mapping_failure", lambda mapping, exc: ("kong.map:12: boom", 12)
    )
    outcome = map_record(MAPPING, {"f_codigo": "BOOM"}, "p#4")
    assert outcome.report[0]["line"] == 12
    assert [line["reason"] for line in outcome.rejections] == ["kong.map:12: boom"]


def test_a_line_that_is_not_an_object_is_rejected_without_calling_the_mapping() -> None:
    outcome = map_record(SimpleNamespace(map_record=None, to_product=dict), [1, 2], "p#5")
    (rejection,) = outcome.rejections
    assert rejection["reason"] == "the extracted line is not a JSON object"
    assert rejection["id"] is None and outcome.record_id == ""


def test_records_are_mapped_in_order_and_the_tally_counts_errors_by_field() -> None:
    records = [
        {"f_codigo": "A", "f_nombre": "a", "f_ean": "x"},
        {"f_codigo": "B", "f_nombre": ""},
        {"f_codigo": "BOOM"},
        "not an object",
    ]
    outcomes = list(map_records(MAPPING, positioned("page-1", records)))
    assert [o.record_id for o in outcomes] == ["A", "B", "BOOM", ""]
    assert [o.report[0]["position"] for o in outcomes] == [f"page-1#{n}" for n in range(1, 5)]
    tally = Tally()
    for outcome in outcomes:
        tally.add(outcome)
    assert (tally.errors, tally.warnings) == (3, 2)
    assert dict(tally.by_field) == {"name": 1, "record": 2}


def _shaped(records: list[dict[str, Any]], issues: list[dict[str, Any]]) -> SimpleNamespace:
    """A stand-in returning contract.md's shapes for every record."""
    return SimpleNamespace(map_record=lambda record: (records, issues), to_product=dict)


def test_a_skipped_record_is_a_skip_line_not_a_rejection_and_the_tally_counts_it() -> None:
    skip = {
        **_issue("C3", None, 'skip when f_activo == "N"', "info"),
        "action": "skip",
        "file": "clients/x.map",
    }
    outcome = map_record(_shaped([], [skip]), {"f_codigo": "C3"}, "p#6")
    assert (outcome.canonical, outcome.rejections, outcome.report) == ([], [], [])
    assert outcome.skip == {
        "id": "C3",
        "reason": 'skip when f_activo == "N"',
        "file": "clients/x.map",
        "line": 7,
        "position": "p#6",
    }
    tally = Tally()
    tally.add(outcome)
    assert (tally.skipped, tally.errors, tally.warnings) == (1, 0, 0)
    assert outcome.ids == ["C3"]


def test_each_rejected_line_of_a_one_to_many_record_is_its_own_rejection_naming_the_line() -> None:
    raw = {"f_codigo": "D4", "f_bodegas": [1, 2, 3]}
    bad = [
        {**_issue("D4-02", "stock_quantity", "must be >= 0"), "part": 2},
        {**_issue("D4-03", "name", "is required but missing"), "part": 3},
        {**_issue("D4-03", "ean", "must be 13 digits", "warning"), "part": 3},
    ]
    good = [{"id": "D4-01", "name": "n"}]
    outcome = map_record(_shaped(good, bad), raw, "p#7")
    assert outcome.canonical == good
    assert [(r["id"], r["part"], r["reason"]) for r in outcome.rejections] == [
        ("D4-02", 2, "line 2 (D4-02): stock_quantity: must be >= 0"),
        ("D4-03", 3, "line 3 (D4-03): name: is required but missing"),
    ]
    assert all(r["record"] is raw and r["stage"] == "mapping" for r in outcome.rejections)
    assert outcome.ids == ["D4-01", "D4-02", "D4-03", "D4"]
    assert [line["part"] for line in outcome.report] == [2, 3, 3]


def test_a_one_to_many_record_with_every_line_rejected_gives_no_record_only_line_rejections() -> (
    None
):
    bad = [{**_issue(None, "stock_quantity", "must be >= 0"), "part": 1}]
    outcome = map_record(_shaped([], bad), {"f_codigo": "E5"}, "p#8")
    assert outcome.canonical == [] and outcome.skip is None
    assert [(r["id"], r["reason"]) for r in outcome.rejections] == [
        ("E5#1", "line 1 (E5#1): stock_quantity: must be >= 0")
    ]


def test_a_record_with_no_lines_and_no_error_is_skipped_not_rejected() -> None:
    outcome = map_record(_shaped([], []), {"f_codigo": "F6"}, "p#9")
    assert outcome.rejections == [] and outcome.skip is not None
    assert outcome.skip["id"] == "F6"
    assert outcome.skip["reason"] == "the mapping made no product record of it"
