"""The dedup index in DynamoDB: batched, scoped to the client, blind to a failed attempt's entries."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.errors import DedupIndexBusy
from runtime.stages.dedup import DedupWriter
from runtime.stages.dedup_index import ATTRIBUTES, TableDedupIndex
from tests.runtime.stages.test_extract import MemoryPages

RUN = "20250115T100000Z-3e81a7"


class FakeTable:
    """BatchGetItem / BatchWriteItem over a dict, answering one key unprocessed once."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[tuple[str, int]] = []
        self._held_back = False

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        self.calls.append(("get", len(keys)))
        assert len(keys) <= 100 and len({k["entry"]["S"] for k in keys}) == len(keys)
        unprocessed: list[Any] = []
        if not self._held_back and len(keys) > 1:
            self._held_back, unprocessed, keys = True, keys[:1], keys[1:]
        found = [
            self.items[(k["client_id"]["S"], k["entry"]["S"])]
            for k in keys
            if (k["client_id"]["S"], k["entry"]["S"]) in self.items
        ]
        answer: dict[str, Any] = {"Responses": {table: found}}
        if unprocessed:
            answer["UnprocessedKeys"] = {table: {"Keys": unprocessed}}
        return answer

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((_, requests),) = RequestItems.items()
        self.calls.append(("write", len(requests)))
        assert len(requests) <= 25
        for request in requests:
            item = request["PutRequest"]["Item"]
            assert set(item) == set(ATTRIBUTES)
            self.items[(item["client_id"]["S"], item["entry"]["S"])] = item
        return {}


def _rec(code: str, modified: str) -> dict[str, Any]:
    return {"f_codigo": code, "f_fecha_modificacion": modified}


def _writer(table: FakeTable, seq: int, sink: MemoryPages, **resume: Any) -> DedupWriter:
    index = TableDedupIndex(
        "dedup", "cliente-a", RUN, seq, dynamodb=table, clock=lambda: 0, sleep=lambda _: None
    )
    return DedupWriter(
        sink,
        key_of=lambda r: r["f_codigo"],
        modified_of=lambda r: r["f_fecha_modificacion"],
        index=index,
        **resume,
    )


def test_a_page_is_read_and_written_in_batches_under_the_clients_key() -> None:
    table = FakeTable()
    writer = _writer(table, 0, MemoryPages(1000))
    writer.add_page([_rec(f"P{n:03d}", "10:00") for n in range(130)])
    assert [kind for kind, _ in table.calls].count("write") == 6  # 130 entries, 25 a batch
    assert sum(n for kind, n in table.calls if kind == "get") == 131  # one held back, asked again
    assert {client for client, _ in table.items} == {"cliente-a"}
    assert all(entry.startswith(f"{RUN}#") for _, entry in table.items)


def test_a_record_served_again_in_a_later_invocation_is_kept_once_the_newest() -> None:
    table, sink = FakeTable(), MemoryPages(2)
    first = _writer(table, 0, sink)
    first.add_page([_rec("A", "10:00"), _rec("B", "10:00"), _rec("C", "10:00")])
    first.suspend()
    later = _writer(table, 1, sink, count=first.count, stale=dict(first.stale))
    later.add_page([_rec("A", "10:05"), _rec("B", "09:00"), _rec("D", "10:00")])
    outcome = later.finish(sink)
    kept = sorted(
        (r["f_codigo"], r["f_fecha_modificacion"]) for k in outcome.pages for r in sink.pages[k]
    )
    assert kept == [("A", "10:05"), ("B", "10:00"), ("C", "10:00"), ("D", "10:00")]
    assert (outcome.count, outcome.duplicates) == (4, 2)


def test_a_failed_attempts_entries_do_not_count_for_its_retry() -> None:
    table, sink = FakeTable(), MemoryPages(10)
    failed = _writer(table, 3, sink)
    failed.add_page([_rec("A", "10:00")])  # entry written, then the invocation died
    retry = _writer(table, 3, MemoryPages(10))
    retry.add_page([_rec("A", "10:00")])
    assert (retry.count, retry.duplicates) == (1, 0)


def test_a_table_that_keeps_refusing_fails_the_invocation_as_transient() -> None:
    class Throttled(FakeTable):
        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            return {"UnprocessedItems": RequestItems}

    waits: list[float] = []
    index = TableDedupIndex("dedup", "cliente-a", RUN, 0, dynamodb=Throttled(), sleep=waits.append)
    index.put("A", 1)
    with pytest.raises(DedupIndexBusy):
        index.flush()
    assert waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
