"""The load stage's core: product-ready page lines through a product adapter, in batches.

The transformer wrote each line with the product's record already made
(runtime/stages/transform.py `ready_line`), so nothing here runs mapping
code. Batches of at most `batch_size` lines go to the adapter's
`load_batch`, up to the client's `product_concurrency` at once. Every record ends as a success or a failed record, handed to
a `FailureSink` with its id, stage `product`, reason, whether sending it
again may succeed, its canonical record and its position (where its raw
ERP record is, for replay); a record the adapter reported nothing about is
failed rather than lost. `LoadProgress` says how far the load got, so a run
that stops can report every record it did not load (`stop_lines`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, Protocol

from runtime.errors import RunDataError
from runtime.observability import redact
from runtime.sync_state import run_status

if TYPE_CHECKING:
    from runtime.adapters.results import BatchResult

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
    workers: int = 1,
) -> LoadProgress:
    """Every canonical record through the adapter, `batch_size` at a time; `progress` as it ends.

    Up to `workers` batches are at the adapter at once (the client's
    `product_concurrency`), each in a thread of its own, and each batch's
    outcome is accounted in the main thread in batch order: the counts and
    the failed-record lines are the same, in the same order, as one batch
    after another. A batch that raises stops the load: no batch is sent
    after it, those at the adapter are waited for, and `progress.current`
    holds, in order, every batch read that did not complete (the stopped
    run reports them); a later batch that did complete is accounted as
    what it is. The error raised is that of the first batch in order.
    """
    if workers < 1:
        raise ValueError("load_records needs at least one worker")
    progress.records = batched(records, batch_size)
    sent: deque[_Sent] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        try:
            for batch in progress.records:
                progress.canonical_count += len(batch)
                progress.handled.update(
                    str(record["id"]) for record in batch if record.get("id") is not None
                )
                sent.append(_Sent(batch))
                products = products_of(batch)
                sent[-1].future = pool.submit(copy_context().run, adapter.load_batch, products)
                while sent and (len(sent) >= workers or sent[0].done):
                    _account(adapter, sent[0], failed, progress)
                    sent.popleft()
            while sent:
                _account(adapter, sent[0], failed, progress)
                sent.popleft()
        except BaseException as stop:
            first = _settle(adapter, sent, failed, progress)
            if first is None or first is stop:
                raise
            raise first from None
    return progress


@dataclass
class _Sent:
    """One batch read from the pages, and its call of the adapter once it is made."""

    batch: list[Record]
    future: Future[Any] | None = None

    @property
    def done(self) -> bool:
        """True when the adapter has answered (or failed) for this batch."""
        return self.future is not None and self.future.done()


def _account(adapter: Any, sent: _Sent, failed: FailureSink, progress: LoadProgress) -> None:
    """Wait for one batch's outcome and account it; its error propagates (the load stops)."""
    if sent.future is None:
        raise RuntimeError("a batch was read but never sent")
    result = sent.future.result()
    succeeded = account_batch(adapter, sent.batch, result, failed)
    progress.success += len(succeeded)
    progress.loaded.update(succeeded)


def _settle(
    adapter: Any, sent: deque[_Sent], failed: FailureSink, progress: LoadProgress
) -> BaseException | None:
    """A stopping load: wait for every batch still at the adapter, in order.

    A batch that completed is accounted; one that did not (it raised, or was
    never sent) goes to `progress.current` for the stopped run's report.
    Returns the error of the first batch in order that raised, if any.
    """
    progress.current = []
    first: BaseException | None = None
    for each in sent:
        error = None if each.future is None else each.future.exception()
        if each.future is not None and error is None:
            _account(adapter, each, failed, progress)
            continue
        progress.current.extend(each.batch)
        if first is None and error is not None:
            first = error
    sent.clear()
    return first


def products_of(batch: list[Record]) -> list[Record]:
    """The product records of a batch of page lines; RunDataError when a line holds none."""
    for line in batch:
        if not isinstance(line.get("product"), dict):
            raise RunDataError(
                "a page line holds no product record: the pages were written by a transformer "
                "older than this loader; run the sync again"
            )
    return [line["product"] for line in batch]


def totals(progress: LoadProgress, failed_count: int) -> LoadTotals:
    """The counts the summary and run history show."""
    return LoadTotals(
        processed=progress.processed,
        success=progress.success,
        failed=failed_count,
        mapping_rejected=progress.mapping_rejects,
    )


def account_batch(
    adapter: Any, batch: list[Record], result: BatchResult, failed: FailureSink
) -> list[str]:
    """A batch's outcome: failed records to `failed` (one the adapter said nothing of, too).

    Returns the ids of the records that reached the product.
    """
    products = [line["product"] for line in batch]
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
