"""`siesa replay` maps a failed record through `map_record`: the failed line of a one-to-many record."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ops.replay import _map


def _mapping(records: list[dict[str, Any]], issues: list[dict[str, Any]]) -> Any:
    return SimpleNamespace(map_record=lambda record: (records, issues))


def test_the_failed_line_is_found_by_its_id_among_the_records_one_erp_record_becomes() -> None:
    mapping = _mapping([{"id": "P1-01"}, {"id": "P1-02"}], [])
    assert _map(mapping, {"f_codigo": "P1"}, "P1-02") == ({"id": "P1-02"}, "")


def test_a_line_still_rejected_gives_its_own_reasons_and_a_skip_says_so() -> None:
    issues = [
        {
            "record_id": "P1-01",
            "field": "name",
            "reason": "missing",
            "severity": "error",
            "part": 1,
        },
        {"record_id": "P1-02", "field": "qty", "reason": "below 0", "severity": "error", "part": 2},
    ]
    assert _map(_mapping([], issues), {}, "P1-02") == (None, "qty: below 0")
    skip = [{"record_id": "P1", "reason": "skip when x", "severity": "info", "action": "skip"}]
    assert _map(_mapping([], skip), {}, "P1-02") == (None, "skipped by the mapping")
