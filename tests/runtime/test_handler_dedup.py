"""Deduplication of extracted records across pages: newest copy wins, memory holds one page."""

from __future__ import annotations

from typing import Any

from runtime.handlers.dedup import DedupWriter
from runtime.runstore import RunStore

RUN = "20250115T100000Z-3f9a1c"


def _rec(code: str, modified: str, note: str = "") -> dict[str, Any]:
    return {"f_codigo": f" {code} ", "f_fecha_modificacion": modified, "note": note}


def _writer(page_size: int) -> tuple[RunStore, DedupWriter]:
    store = RunStore(page_size=page_size)
    writer = DedupWriter(
        store.page_writer("cliente-a", RUN, "extracted"),
        key_of=lambda record: record["f_codigo"].strip(),
        modified_of=lambda record: record["f_fecha_modificacion"],
    )
    return store, writer


def _all(store: RunStore, keys: list[str]) -> list[dict[str, Any]]:
    return list(store.iter_records(keys))


def test_unique_records_pass_through_in_order(aws: Any) -> None:
    store, writer = _writer(2)
    records = [_rec(f"P{n}", f"2025-01-15 10:00:0{n}") for n in range(5)]
    writer.add_pages([records[:3], records[3:]])
    outcome = writer.finish(store)
    assert (outcome.count, outcome.duplicates, outcome.rewritten_pages) == (5, 0, 0)
    assert _all(store, outcome.pages) == records


def test_a_newer_copy_in_a_later_page_replaces_the_written_one(aws: Any) -> None:
    store, writer = _writer(2)
    writer.add_pages(
        [
            [_rec("A", "2025-01-15 10:00:00", "old"), _rec("B", "2025-01-15 10:00:01")],
            [_rec("C", "2025-01-15 10:00:02"), _rec("A", "2025-01-15 10:05:00", "new")],
        ]
    )
    outcome = writer.finish(store)
    assert (outcome.count, outcome.duplicates, outcome.rewritten_pages) == (3, 1, 1)
    assert [(r["f_codigo"].strip(), r["note"]) for r in _all(store, outcome.pages)] == [
        ("B", ""),
        ("C", ""),
        ("A", "new"),
    ]


def test_a_newer_copy_while_the_page_is_open_is_replaced_in_place(aws: Any) -> None:
    store, writer = _writer(10)
    writer.add_pages([[_rec("A", "2025-01-15 10:00:00", "old"), _rec("B", "2025-01-15 10:00:01")]])
    writer.add_pages([[_rec("A", "2025-01-15 10:09:00", "new")]])
    outcome = writer.finish(store)
    assert (outcome.count, outcome.duplicates, outcome.rewritten_pages) == (2, 1, 0)
    assert [r["note"] for r in _all(store, outcome.pages)] == ["new", ""]


def test_an_older_copy_arriving_late_is_dropped(aws: Any) -> None:
    store, writer = _writer(1)
    writer.add_pages(
        [[_rec("A", "2025-01-15 10:05:00", "new")], [_rec("A", "2025-01-15 10:00:00", "old")]]
    )
    outcome = writer.finish(store)
    assert (outcome.count, outcome.duplicates) == (1, 1)
    assert [r["note"] for r in _all(store, outcome.pages)] == ["new"]


def test_a_page_left_empty_is_removed(aws: Any) -> None:
    store, writer = _writer(1)
    writer.add_pages(
        [
            [_rec("A", "2025-01-15 10:00:00", "old")],
            [_rec("B", "2025-01-15 10:00:01")],
            [_rec("A", "2025-01-15 10:01:00", "new")],
        ]
    )
    outcome = writer.finish(store)
    assert len(outcome.pages) == 2 and outcome.count == 2
    assert aws.keys(f"runs/cliente-a/{RUN}/extracted/") == sorted(outcome.pages)
    assert [r["f_codigo"].strip() for r in _all(store, outcome.pages)] == ["B", "A"]


def test_a_record_seen_three_times_keeps_the_last_newest(aws: Any) -> None:
    store, writer = _writer(2)
    writer.add_pages(
        [
            [_rec("A", "2025-01-15 10:00:00", "1"), _rec("X", "2025-01-15 10:00:00")],
            [_rec("A", "2025-01-15 10:01:00", "2"), _rec("Y", "2025-01-15 10:00:00")],
            [_rec("Z", "2025-01-15 10:00:00"), _rec("A", "2025-01-15 10:02:00", "3")],
        ]
    )
    outcome = writer.finish(store)
    records = _all(store, outcome.pages)
    assert [r["note"] for r in records if r["f_codigo"].strip() == "A"] == ["3"]
    assert outcome.count == len(records) == 4 and outcome.duplicates == 2
