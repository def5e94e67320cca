"""`rejected_lines`: a one-to-many record's errors, one rejected line per line number."""

from __future__ import annotations

from contract.issues import RejectedLine, rejected_lines


def test_a_line_is_one_rejected_line_however_many_fields_failed_in_line_order() -> None:
    no_id = {"record_id": None, "field": "id", "part": 3}
    named = {"record_id": "P1-02", "field": "qty", "part": 2}
    later = {"record_id": "P1#3", "field": "qty", "part": 3}
    whole = {"record_id": "P1", "field": None}  # no line: not a line's
    assert rejected_lines([no_id, named, whole, later]) == [
        RejectedLine(2, "P1-02", [named]),
        RejectedLine(3, "P1#3", [no_id, later]),
    ]
    assert rejected_lines([whole]) == []
