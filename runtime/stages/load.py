"""The load stage's core: product-ready page lines through a product adapter, in batches.

The transformer wrote each line with the product's record already made
(runtime/stages/transform.py `ready_line`), so nothing here runs mapping
code. Batches of at most `batch_size` lines go to the adapter's
`load_batch`. Every record ends as a success or a failed record, handed to
a `FailureSink` with its id, stage `product`, reason, whether sending it
again may succeed, its canonical record and its position (where its raw
ERP record is, for replay); a record the adapter reported nothing about is
failed rather than lost. `LoadProgress` says how far the load got, so a run
that stops can report every record it did not load (`stop_lines`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any, Protocol

from runtime.errors import RunDataError
from runtime.observability import redact
from runtime.sync_state import run_status

Record = dict[str, Any]

STOP_REASON_CHARS = 300
STOP_BATCH_SIZE = 100
"""Batches of the records a run stopped before it read them (only reported, never sent)."""


class FailureSink(Protocol):
    """Where failed records go (runtime/handlers/failed_records.py's FailedRecords)."""

    def add(self, line: Record) -> None: ...

    def has(self, record_id: Any) -> bool: ...


def batched(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Consecutive lists of at most `size` records."""
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass
class LoadProgress:
    """How far the load got: what a stopped run must still report."""

    mapping_rejects: int = 0
    rejects_read: bool = False
    canonical_count: int = 0
    success: int = 0
    handled: set[str] = field(default_factory=set)
    loaded: set[str] = field(default_factory=set)
    """Ids of the records that reached the product (the client's live ids grow by these)."""
    records: Iterator[list[Record]] | None = None
    current: list[Record] = field(default_factory=list)

    @property
    def processed(self) -> int:
        """Records of the run: canonical ones sent, and the mapping's rejects."""
        return self.canonical_count + self.mapping_rejects


@dataclass(frozen=True)
class LoadTotals:
    """The counts of a finished load, and the run's status."""

    processed: int
    success: int
    failed: int
    mapping_rejected: int

    @property
    def status(self) -> str:
        """success, partial or failed (sync_state.run_status)."""
        return run_status(self.processed, self.failed)


def take_rejects(lines: Iterable[Record], failed: FailureSink, progress: LoadProgress) -> None:
    """The mapping's rejects (the transformer's `rejected.ndjson`) become failed records."""
    for line in lines:
        failed.add(line)
        progress.mapping_rejects += 1
        if line.get("id") is not None:
            progress.handled.add(str(line["id"]))
    progress.rejects_read = True


def load_records(
    adapter: Any,
    records: Iterable[Record],
    batch_size: int,
    failed: FailureSink,
    progress: LoadProgress,
) -> LoadProgress:
    """Every canonical record through the adapter, `batch_size` at a time; `progress` as it ends."""
    progress.records = batched(records, batch_size)
    for batch in progress.records:
        progress.current = batch
        progress.canonical_count += len(batch)
        progress.handled.update(
            str(record["id"]) for record in batch if record.get("id") is not None
        )
        succeeded = load_batch(adapter, batch, failed)
        progress.success += len(succeeded)
        progress.loaded.update(succeeded)
        progress.current = []
    return progress


def totals(progress: LoadProgress, failed_count: int) -> LoadTotals:
    """The counts the summary and run history show."""
    return LoadTotals(
        processed=progress.processed,
        success=progress.success,
        failed=failed_count,
        mapping_rejected=progress.mapping_rejects,
    )


def load_batch(adapter: Any, batch: list[Record], failed: FailureSink) -> list[str]:
    """One batch of page lines through the adapter; returns the ids of the records that reached it."""
    for line in batch:
        if not isinstance(line.get("product"), dict):
            raise RunDataError(
                "a page line holds no product record: the pages were written by a transformer "
                "older than this loader; run the sync again"
            )
    products = [line["product"] for line in batch]
    result = adapter.load_batch(products)
    succeeded = set(result.succeeded)
    by_id = {adapter.id_of(product): line for product, line in zip(products, batch, strict=True)}
    accounted: set[str] = set(succeeded)
    for item in result.failed:
        accounted.add(item.id)
        failed.add({**item.to_dict(), **_origin(by_id.get(item.id))})
    for product, line in zip(products, batch, strict=True):
        record_id = adapter.id_of(product)
        if record_id not in accounted:
            accounted.add(record_id)
            failed.add(
                {
                    "id": record_id or line.get("id"),
                    "stage": "product",
                    "reason": "the adapter reported no outcome for this record",
                    "retryable": True,
                    **_origin(line),
                }
            )
    return [str(record_id) for record_id in result.succeeded]


def _origin(line: Record | None) -> Record:
    """What a failed-record line carries of its page line: the canonical record and its position."""
    if line is None:
        return {"record": None}
    return {"record": line.get("canonical"), "position": line.get("position")}


def stop_reason(exc: BaseException) -> str:
    """Why the records a stopped run did not load are failed (redacted, capped)."""
    cause = redact(f"{type(exc).__name__}: {exc}")
    return f"not loaded: the run stopped on {cause}"[:STOP_REASON_CHARS]


def stop_lines(
    progress: LoadProgress,
    unread: Iterable[Record],
    failed: FailureSink,
    reason: str,
) -> Iterator[Record]:
    """A failed-record line for every record a stopped run did not load and has not reported.

    `unread` are the page lines, when the run stopped before it read them;
    otherwise the rest comes from `progress`. The records are retryable:
    sending them again as they are may succeed.
    """
    rest = progress.records if progress.records is not None else batched(unread, STOP_BATCH_SIZE)
    for line in chain(progress.current, chain.from_iterable(rest)):
        if not failed.has(line.get("id")):
            yield {
                "id": line.get("id"),
                "stage": "product",
                "reason": reason,
                "retryable": True,
                **_origin(line),
            }
