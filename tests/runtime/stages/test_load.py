"""The load core with plain lists and a stand-in adapter: no S3, no HTTP, no moto."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from runtime import observability
from runtime.adapters.results import BatchResult
from runtime.errors import RunDataError
from runtime.stages.load import (
    STOP_REASON_CHARS,
    LoadProgress,
    batched,
    load_records,
    stop_lines,
    stop_reason,
    take_rejects,
    totals,
)
from runtime.stages.transform import ready_line


class Failures:
    """A failure sink that keeps the lines in a list."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def add(self, line: dict[str, Any]) -> None:
        self.lines.append(line)

    def has(self, record_id: Any) -> bool:
        return record_id is not None and any(line.get("id") == record_id for line in self.lines)


class Adapter:
    """Stores every product but those named in `refuse` and `forget`; it has no mapping."""

    def __init__(self, *, refuse: tuple[str, ...] = (), forget: tuple[str, ...] = ()) -> None:
        self.refuse, self.forget = refuse, forget
        self.batches: list[list[str]] = []

    def id_of(self, product: dict[str, Any]) -> str:
        return str(product["product_id"])

    def load_batch(self, products: list[dict[str, Any]]) -> BatchResult:
        self.batches.append([self.id_of(product) for product in products])
        result = BatchResult()
        for product in products:
            record_id = self.id_of(product)
            if record_id in self.refuse:
                result.fail(record_id, "refused", retryable=False)
            elif record_id not in self.forget:
                result.succeed(record_id, "created")
        return result


def _records(*ids: str) -> list[dict[str, Any]]:
    """Product-ready page lines, as the transformer writes them."""
    return [
        ready_line(
            {"id": record_id, "name": record_id.lower()}, {"product_id": record_id}, f"p#{n}"
        )
        for n, record_id in enumerate(ids, start=1)
    ]


def test_batched_cuts_consecutive_lists() -> None:
    assert [len(batch) for batch in batched(_records(*"ABCDE"), 2)] == [2, 2, 1]


def test_records_go_in_batches_and_every_one_ends_loaded_or_failed() -> None:
    adapter = Adapter(refuse=("C",), forget=("E",))
    failed = Failures()
    progress = load_records(adapter, _records("A", "B", "C", "D", "E"), 2, failed, LoadProgress())
    assert adapter.batches == [["A", "B"], ["C", "D"], ["E"]]
    assert progress.success == 3 and progress.canonical_count == 5
    assert progress.handled == {"A", "B", "C", "D", "E"}
    by_id = {line["id"]: line for line in failed.lines}
    assert (by_id["C"]["stage"], by_id["C"]["reason"]) == ("product", "refused")
    assert by_id["C"]["record"] == {"id": "C", "name": "c"}
    assert by_id["C"]["position"] == "p#3"  # where the raw ERP record is, for replay
    assert by_id["E"]["reason"] == "the adapter reported no outcome for this record"
    assert by_id["E"]["retryable"] is True
    counts = totals(progress, len(failed.lines))
    assert (counts.processed, counts.success, counts.failed, counts.status) == (5, 3, 2, "partial")


def test_a_line_without_a_product_record_stops_the_load() -> None:
    """Pages of an older transformer hold bare canonical records: the loader cannot map them."""
    with pytest.raises(RunDataError, match=r"holds no product record"):
        load_records(Adapter(), [{"id": "A", "name": "a"}], 10, Failures(), LoadProgress())


def test_the_mappings_rejects_count_as_processed_and_failed() -> None:
    failed, progress = Failures(), LoadProgress()
    take_rejects([{"id": "R1", "stage": "mapping"}, {"id": None}], failed, progress)
    load_records(Adapter(), _records("A"), 10, failed, progress)
    assert progress.rejects_read and progress.handled == {"R1", "A"}
    counts = totals(progress, len(failed.lines))
    assert (counts.processed, counts.failed, counts.mapping_rejected) == (3, 2, 2)
    assert totals(LoadProgress(mapping_rejects=2), 2).status == "failed"
    assert totals(LoadProgress(canonical_count=2), 0).status == "success"


class Down(Adapter):
    """A product that goes down after its first batch."""

    def load_batch(self, products: list[dict[str, Any]]) -> BatchResult:
        if self.batches:
            raise ConnectionError("product down, api_key=secret-123456")
        return super().load_batch(products)


@pytest.fixture
def registered_secret() -> Iterator[str]:
    """A secret value `redact` scrubs, forgotten after the test."""
    observability.register_secret("secret-123456")
    yield "secret-123456"
    observability.forget_secrets()


def test_a_stopped_load_reports_every_record_it_did_not_load_once(registered_secret: str) -> None:
    failed, progress = Failures(), LoadProgress()
    with pytest.raises(ConnectionError) as stopped:
        load_records(Down(refuse=("B",)), _records(*"ABCDE"), 2, failed, progress)
    reason = stop_reason(stopped.value)
    assert reason.startswith("not loaded: the run stopped on ConnectionError: product down")
    assert registered_secret not in reason
    assert len(stop_reason(ValueError("x" * 1000))) == STOP_REASON_CHARS
    lines = list(stop_lines(progress, [], failed, reason))
    assert [line["id"] for line in lines] == ["C", "D", "E"]  # B failed already, A loaded
    assert all(line["retryable"] and line["stage"] == "product" for line in lines)


def test_a_load_stopped_before_reading_reports_the_unread_records() -> None:
    lines = list(stop_lines(LoadProgress(), _records("A", "B"), Failures(), "why"))
    assert [(line["id"], line["reason"], line["record"]["name"]) for line in lines] == [
        ("A", "why", "a"),
        ("B", "why", "b"),
    ]


# --- several batches at once -----------------------------------------------------------------


class Overlapping(Adapter):
    """Holds every batch until `workers` are in at once; later batches answer first."""

    def __init__(self, workers: int, **options: Any) -> None:
        super().__init__(**options)
        self.together = threading.Barrier(workers, timeout=10)
        self.lock = threading.Lock()
        self.at_once = self.most_at_once = 0

    def load_batch(self, products: list[dict[str, Any]]) -> BatchResult:
        with self.lock:
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            if products[0]["product_id"] != "I":  # the last batch of 1 has no partners left
                self.together.wait()
            time.sleep(0.01 * (5 - len(self.batches)) if len(products) > 1 else 0)
            with self.lock:
                return super().load_batch(products)
        finally:
            with self.lock:
                self.at_once -= 1


def test_batches_go_at_once_yet_are_accounted_in_order_as_one_after_another() -> None:
    ids = tuple("ABCDEFGHI")
    sequential_failed, sequential = Failures(), LoadProgress()
    load_records(
        Adapter(refuse=("C", "F"), forget=("H",)), _records(*ids), 2, sequential_failed, sequential
    )
    adapter = Overlapping(4, refuse=("C", "F"), forget=("H",))
    failed, progress = Failures(), LoadProgress()
    load_records(adapter, _records(*ids), 2, failed, progress, workers=4)
    assert adapter.most_at_once == 4
    assert failed.lines == sequential_failed.lines  # the same lines, in the same order
    assert (progress.success, progress.canonical_count) == (sequential.success, 9)
    assert progress.loaded == sequential.loaded and progress.handled == sequential.handled
    assert progress.current == []


class StopsAtB(Adapter):
    """The batch holding B fails once the two batches after it are at the product too."""

    def __init__(self) -> None:
        super().__init__(refuse=("D",))
        self.others_in = threading.Barrier(3, timeout=10)

    def load_batch(self, products: list[dict[str, Any]]) -> BatchResult:
        first = products[0]["product_id"]
        if first in ("B", "C", "D"):
            self.others_in.wait()
        if first == "B":
            raise ConnectionError("product down")
        if first == "E":
            raise AssertionError("nothing is sent after the batch that stopped the load")
        return super().load_batch(products)


def test_a_batch_that_stops_the_load_is_reported_and_one_that_completed_meanwhile_is_not() -> None:
    failed, progress = Failures(), LoadProgress()
    with pytest.raises(ConnectionError, match="product down"):
        load_records(StopsAtB(), _records(*"ABCDE"), 1, failed, progress, workers=3)
    # A loaded; B stopped the load while C and D were at the product: C was loaded (not
    # reported), D refused (reported as the product said); E was never sent
    assert [line["id"] for line in failed.lines] == ["D"]
    assert progress.loaded == {"A", "C"}
    lines = list(stop_lines(progress, [], failed, "why"))
    assert [line["id"] for line in lines] == ["B", "E"]


def test_a_line_without_a_product_stops_the_load_after_the_batches_before_it() -> None:
    lines = [*_records("A", "B"), {"id": "X", "name": "x"}]
    failed, progress = Failures(), LoadProgress()
    with pytest.raises(RunDataError):
        load_records(Adapter(refuse=("A",)), lines, 1, failed, progress, workers=4)
    assert [line["id"] for line in failed.lines] == ["A"] and progress.loaded == {"B"}
    assert [line["id"] for line in stop_lines(progress, [], failed, "why")] == ["X"]
