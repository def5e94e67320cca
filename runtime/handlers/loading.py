"""The loader's core: canonical pages into the client's product, and the run's summary.

Batches of BATCH_SIZE (at most 100) go through the product adapter
(`transform_products`, then `load_batch`). Every record of the run that did
not reach the product lands in `failed-records.ndjson` with its id, stage
(`mapping` or `product`), reason and its raw ERP record, for replay
(failed_records.py); the summary lists them too, capped so the workflow
state stays small. Before the watermark moves, the client's retry state
(runtime/retry_state.py) takes this run's failures, so the next run tries
them again as their kind says.

Errors: authentication errors and everything else that stops the run end
it as failed and propagate (the workflow alerts); transient errors, raised
once the adapter's own retries are spent, end it as failed-but-retryable
and propagate: the workflow retries the loader, which resumes the run
(product writes are upserts), and if its retries are spent the run is
already failed. Either way the report is written first: every record the
run did not load is in it ("not loaded: the run stopped on ..."), so a
stopped run loses nothing silently.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from types import ModuleType
from typing import Any

from runtime import settings
from runtime.carryover import RetryEntry, entry_for, next_state, read_state, write_state
from runtime.config_store import utc_now_iso
from runtime.errors import InvalidEvent, RunDataError, TransientError
from runtime.handlers.deps import Deps
from runtime.handlers.events import Transformed
from runtime.handlers.failed_records import FailedRecords
from runtime.observability import (
    LatencyRecorder,
    bind_run,
    logger,
    record_run_outcome,
    redact,
)
from runtime.runstore import (
    RunStore,
    check_run_key,
    failed_records_key,
    run_started_at,
    summary_key,
)
from runtime.sync_state import run_status

STOP_REASON_CHARS = 300


def batched(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive lists of at most `size` records."""
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass
class _Progress:
    """How far the load got: what a stopped run must still report."""

    mapping_rejects: int = 0
    rejects_read: bool = False
    canonical_count: int = 0
    success: int = 0
    handled: set[str] = field(default_factory=set)
    records: Iterator[list[dict[str, Any]]] | None = None
    current: list[dict[str, Any]] = field(default_factory=list)


def load(event: Transformed, deps: Deps) -> dict[str, Any]:
    """Load one run into the product; returns the loader summary."""
    began = time.monotonic()
    client_id, run_id, sync_type = event.client_id, event.run_id, event.sync_type
    bind_run("loader", client_id, sync_type, run_id)
    pages = [check_run_key(key, client_id, run_id) for key in event.canonical_pages]
    rejected = check_run_key(event.rejected_key, client_id, run_id)
    raw_pages = [
        check_run_key(key, client_id, run_id)
        for key in [*event.extracted_pages, *([event.retried_key] if event.retried_key else [])]
    ]
    latency = LatencyRecorder()
    store = deps.run_store(event.bucket)
    deps.resume_run(client_id, run_id)
    failed = FailedRecords(store.ndjson_writer(failed_records_key(client_id, run_id)))
    progress = _Progress()
    mapping: ModuleType | None = None
    try:
        config = deps.configs.get(client_id)
        if config.product_type != event.product_type:
            raise InvalidEvent(
                f"event product_type {event.product_type!r} is not the client's {config.product_type!r}"
            )
        batch_size = settings.batch_size(deps.batch_size)
        credentials = deps.product_credentials(config)
        mapping = deps.bundles.load(config.field_mappings_key, product_type=config.product_type)
        adapter_class = deps.adapter_class(config.product_type)
        logger.info(
            "Starting load",
            extra={
                "metadata": {
                    "product_type": config.product_type,
                    "count": event.count,
                    "batch_size": batch_size,
                }
            },
        )
        for line in store.iter_lines(rejected):
            failed.add(line)
            progress.mapping_rejects += 1
            if line.get("id") is not None:
                progress.handled.add(str(line["id"]))
        progress.rejects_read = True
        progress.records = batched(store.iter_records(pages), batch_size)
        with adapter_class(credentials, config, mapping, on_latency=latency) as adapter:
            for batch in progress.records:
                progress.current = batch
                progress.canonical_count += len(batch)
                progress.handled.update(
                    str(record["id"]) for record in batch if record.get("id") is not None
                )
                progress.success += _load_one_batch(adapter, batch, failed)
                progress.current = []
        failed_key = failed.finish(store, raw_pages, mapping)
        mapping_sha256 = event.mapping_sha256 or getattr(mapping, "__sha256__", None)
        _keep_for_retry(store, client_id, run_id, progress.handled, failed, mapping_sha256)
    except Exception as exc:
        if not failed.writer.closed:
            _report_stop(store, failed, progress, exc, rejected, pages, raw_pages, mapping)
        deps.record_error(client_id, run_id, exc, final=not isinstance(exc, TransientError))
        raise
    finally:
        latency.emit(client_id, sync_type)

    processed = progress.canonical_count + progress.mapping_rejects
    success = progress.success
    mapping_rejects = progress.mapping_rejects
    status = run_status(processed, failed.count)
    finished_at = utc_now_iso()
    duration = round(time.monotonic() - began, 3)
    summary: dict[str, Any] = {
        "client_id": client_id,
        "product_type": config.product_type,
        "status": status,
        "records_processed": processed,
        "records_success": success,
        "records_failed": failed.count,
        "failed_records": failed.shown,
        "failed_records_truncated": failed.truncated,
        "failed_records_key": failed_key,
        "load_timestamp": finished_at,
        "duration_seconds": duration,
        "run_id": run_id,
        "sync_type": sync_type,
    }
    store.put_json(summary_key(client_id, run_id), summary)
    deps.sync.finished(
        client_id,
        run_id,
        status=status,
        finished_at=finished_at,
        records_success=success,
        watermark=event.watermark,
        records_processed=processed,
        records_failed=failed.count,
        mapping_rejected=mapping_rejects,
    )
    record_run_outcome(
        records_processed=processed,
        records_failed=failed.count,
        duration_seconds=_run_duration(run_id, event.extraction_timestamp),
        status=status,
    )
    log = logger.warning if status != "success" else logger.info
    log(
        f"Load finished: {status}",
        extra={
            "metadata": {
                "records_processed": processed,
                "records_success": success,
                "records_failed": failed.count,
                "mapping_rejected": mapping_rejects,
                "duration_seconds": duration,
            }
        },
    )
    return summary


def _keep_for_retry(
    store: RunStore,
    client_id: str,
    run_id: str,
    handled: set[str],
    failed: FailedRecords,
    mapping_sha256: str | None,
) -> None:
    """Hand this run's failures to the client's retry state, before the watermark moves."""
    entries: dict[str, RetryEntry] = {}
    for line in failed.lines:
        if line.get("id") is not None:
            entries[str(line["id"])] = entry_for(line, run_id, mapping_sha256)
    state = next_state(read_state(store, client_id), run_id=run_id, handled=handled, failed=entries)
    if not write_state(store, state):
        logger.info("a newer run's retry state is stored; this run's is not written")


def _report_stop(
    store: RunStore,
    failed: FailedRecords,
    progress: _Progress,
    exc: Exception,
    rejected: str,
    pages: list[str],
    raw_pages: list[str],
    mapping: ModuleType | None,
) -> None:
    """Report every record a stopping run did not load, then upload the report.

    What stopped the run is the reason; the records are retryable (sending
    them again as they are may succeed). Bookkeeping never hides the error:
    its own failures are only logged.
    """
    cause = redact(f"{type(exc).__name__}: {exc}")
    reason = f"not loaded: the run stopped on {cause}"[:STOP_REASON_CHARS]
    try:
        try:
            if not progress.rejects_read:
                for line in store.iter_lines(rejected):
                    failed.add(line)
            rest = (
                progress.records
                if progress.records is not None
                else batched(store.iter_records(pages), 100)
            )
            for record in chain(progress.current, chain.from_iterable(rest)):
                if not failed.has(record.get("id")):
                    failed.add(
                        {
                            "id": record.get("id"),
                            "stage": "product",
                            "reason": reason,
                            "retryable": True,
                            "record": record,
                        }
                    )
        except RunDataError:
            logger.exception("the stopped run's records could not all be read for its report")
        failed.finish(store, raw_pages, mapping)
    except Exception:
        logger.exception("could not write the failed-records report of the stopped run")


def _load_one_batch(adapter: Any, batch: list[dict[str, Any]], failed: FailedRecords) -> int:
    """One batch through the adapter; returns how many records reached the product.

    Every record ends as a success or a failed record: a `to_product` that
    raises fails only the records it raises on, and a record the adapter
    reported nothing about is failed rather than lost.
    """
    products, pairs = _to_products(adapter, batch, failed)
    if not products:
        return 0
    result = adapter.load_batch(products)
    succeeded = set(result.succeeded)
    by_id = {adapter.id_of(product): canonical for product, canonical in pairs}
    accounted: set[str] = set(succeeded)
    for item in result.failed:
        accounted.add(item.id)
        failed.add({**item.to_dict(), "record": by_id.get(item.id)})
    for product, canonical in pairs:
        record_id = adapter.id_of(product)
        if record_id not in accounted:
            accounted.add(record_id)
            failed.add(
                {
                    "id": record_id or canonical.get("id"),
                    "stage": "product",
                    "reason": "the adapter reported no outcome for this record",
                    "retryable": True,
                    "record": canonical,
                }
            )
    return len(result.succeeded)


def _to_products(
    adapter: Any, batch: list[dict[str, Any]], failed: FailedRecords
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """The product records of a batch, paired with their canonical records."""
    try:
        products = adapter.transform_products(batch)
        return products, list(zip(products, batch, strict=True))
    except Exception:
        logger.warning("to_product failed on a batch; mapping its records one by one")
    products = []
    pairs = []
    for canonical in batch:
        try:
            (product,) = adapter.transform_products([canonical])
        except Exception as exc:
            failed.add(
                {
                    "id": canonical.get("id"),
                    "stage": "mapping",
                    "reason": f"to_product failed: {type(exc).__name__}: {exc}",
                    "retryable": False,
                    "record": canonical,
                }
            )
            continue
        products.append(product)
        pairs.append((product, canonical))
    return products, pairs


def _run_duration(run_id: str, extraction_timestamp: str) -> float:
    """Seconds from the run's extraction start to now (SyncDuration)."""
    try:
        started = datetime.fromisoformat(extraction_timestamp.replace("Z", "+00:00"))
    except ValueError:
        started = run_started_at(run_id)
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return max(0.0, round((datetime.now(UTC) - started).total_seconds(), 3))
