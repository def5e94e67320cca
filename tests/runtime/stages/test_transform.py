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


MAPPING = SimpleNamespace(map_record=_map_record)


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
    outcome = map_record(SimpleNamespace(map_record=None), [1, 2], "p#5")
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
