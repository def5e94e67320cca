"""Deduplication of extracted records across pages: newest copy wins, memory holds one page and the index."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.runstore import RunStore
from runtime.stages.dedup import DedupWriter

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


def test_a_copy_on_an_older_page_is_compared_by_reading_that_page_back_once(aws: Any) -> None:
    store, writer = _writer(2)
    writer.add_pages(
        [
            [_rec("A", "2025-01-15 10:00:00", "first"), _rec("B", "2025-01-15 10:00:01")],
            [_rec("C", "2025-01-15 10:00:02"), _rec("D", "2025-01-15 10:00:03")],
            [_rec("E", "2025-01-15 10:00:04"), _rec("F", "2025-01-15 10:00:05")],
            # A's copy is on page 1, neither open nor the page written last
            [_rec("A", "2025-01-15 09:00:00", "older"), _rec("A", "2025-01-15 10:05:00", "newer")],
        ]
    )
    outcome = writer.finish(store)
    assert writer.pages_read_back == 1
    assert (outcome.count, outcome.duplicates, outcome.rewritten_pages) == (6, 2, 1)
    assert [(r["f_codigo"].strip(), r["note"]) for r in _all(store, outcome.pages)] == [
        ("B", ""),
        ("C", ""),
        ("D", ""),
        ("E", ""),
        ("F", ""),
        ("A", "newer"),
    ]


def test_overlapping_pages_need_no_page_read_back(aws: Any) -> None:
    # Connekta's pages: each starts one row before the previous one ended
    store, writer = _writer(4)
    rows = [_rec(f"R{n:02d}", f"2025-01-15 10:00:{n:02d}") for n in range(13)]
    writer.add_pages([rows[0:4], rows[3:7], rows[6:10], rows[9:13]])
    outcome = writer.finish(store)
    assert writer.pages_read_back == 0
    assert (outcome.count, outcome.duplicates) == (13, 3)
    assert [r["f_codigo"].strip() for r in _all(store, outcome.pages)] == sorted(
        r["f_codigo"].strip() for r in rows
    )


def test_a_second_pass_keeps_its_own_copies_and_reads_each_old_page_back_at_most_once(
    aws: Any,
) -> None:
    store, writer = _writer(3)
    first = [_rec(f"P{n}", f"2025-01-15 10:00:0{n}", "pass 1") for n in range(10)]
    second = [dict(record, note="pass 2") for record in first]
    second[4]["f_fecha_modificacion"] = "2025-01-15 11:00:00"  # changed between the passes
    writer.add_pages([first[:5], first[5:], second[:5], second[5:]])
    outcome = writer.finish(store)
    records = _all(store, outcome.pages)
    assert (outcome.count, outcome.duplicates) == (10, 10)
    assert sorted((r["f_codigo"].strip(), r["note"]) for r in records) == [
        (f"P{n}", "pass 2") for n in range(10)
    ]
    (changed,) = [r for r in records if r["f_codigo"].strip() == "P4"]
    assert changed["f_fecha_modificacion"] == "2025-01-15 11:00:00"
    # pass 1's copies are on pages 1-4 (P9 shares page 4 with pass 2's first copies): once each
    assert writer.pages_read_back == 4
    assert aws.keys(f"runs/cliente-a/{RUN}/extracted/") == sorted(outcome.pages)


_STAMPS = [f"2025-01-15 10:00:0{n}" for n in range(4)]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    arrivals=st.lists(
        st.tuples(st.sampled_from("ABCDEFGHIJ"), st.sampled_from(_STAMPS)), max_size=40
    ),
    page_size=st.integers(min_value=1, max_value=5),
    run=st.integers(min_value=0, max_value=0xFFFFFF),
)
def test_whatever_the_order_each_key_keeps_its_last_newest_copy_once(
    aws: Any, arrivals: list[tuple[str, str]], page_size: int, run: int
) -> None:
    run_id = f"20250115T100000Z-{run:06x}"
    store = RunStore(page_size=page_size)
    writer = DedupWriter(
        store.page_writer("cliente-p", run_id, "extracted"),
        key_of=lambda record: record["f_codigo"].strip(),
        modified_of=lambda record: record["f_fecha_modificacion"],
    )
    records = [_rec(key, stamp, str(n)) for n, (key, stamp) in enumerate(arrivals)]
    for start in range(0, len(records), 3):
        writer.add_pages([records[start : start + 3]])
    outcome = writer.finish(store)

    # the reference: of a key's copies, the newest; of equally new ones, the last to arrive
    wanted: dict[str, tuple[str, int]] = {}
    for n, (key, stamp) in enumerate(arrivals):
        if key not in wanted or stamp >= wanted[key][0]:
            wanted[key] = (stamp, n)
    kept = _all(store, outcome.pages)
    assert sorted((r["f_codigo"].strip(), r["note"]) for r in kept) == sorted(
        (key, str(n)) for key, (_, n) in wanted.items()
    )
    assert outcome.count == len(kept) == len(wanted)
    assert outcome.duplicates == len(arrivals) - len(wanted)
    assert all(store.read_page(key) for key in outcome.pages)  # no page left empty
