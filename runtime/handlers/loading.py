"""The loader's core: canonical pages into the client's product, and the run's summary.

Batches of BATCH_SIZE (at most 100) go through the product adapter
(`transform_products`, then `load_batch`). Every record of the run that did
not reach the product lands in `failed-records.ndjson` with its id, stage
(`mapping` or `product`), reason and the record itself, for replay; the
summary lists them too, capped so the workflow state stays small.

Errors: authentication errors and everything else that stops the run end
it as failed and propagate (the workflow alerts); transient errors, raised
once the adapter's own retries are spent, end it as failed-but-retryable
and propagate: the workflow retries the loader, which resumes the run
(product writes are upserts), and if its retries are spent the run is
already failed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from runtime import settings
from runtime.config_store import utc_now_iso
from runtime.errors import InvalidEvent, TransientError
from runtime.handlers.deps import Deps
from runtime.handlers.events import Transformed
from runtime.observability import LatencyRecorder, bind_run, logger, record_run_outcome
from runtime.runstore import (
    NdjsonWriter,
    check_run_key,
    failed_records_key,
    run_started_at,
    summary_key,
)
from runtime.sync_state import run_status

SUMMARY_MAX_FAILED = 1000
SUMMARY_MAX_FAILED_BYTES = 128 * 1024
"""The summary travels in the workflow state (256 KB): its failed_records list stays under this."""
SUMMARY_MAX_ERROR_CHARS = 300


def batched(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive lists of at most `size` records."""
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


class FailedRecords:
    """Streams failed records to S3 and keeps the capped list the summary shows."""

    def __init__(self, writer: NdjsonWriter) -> None:
        self.writer = writer
        self.count = 0
        self.shown: list[dict[str, Any]] = []
        self.truncated = False
        self._shown_bytes = 0

    def add(self, line: dict[str, Any]) -> None:
        """One failed record: its full line to S3, its id/stage/error to the summary while room lasts."""
        self.writer.write(line)
        self.count += 1
        if self.truncated:
            return
        error = str(line.get("reason", ""))
        if len(error) > SUMMARY_MAX_ERROR_CHARS:
            error = error[: SUMMARY_MAX_ERROR_CHARS - 3] + "..."
        entry = {"id": line.get("id"), "stage": line.get("stage"), "error": error}
        size = len(json.dumps(entry, ensure_ascii=False))
        if (
            len(self.shown) >= SUMMARY_MAX_FAILED
            or self._shown_bytes + size > SUMMARY_MAX_FAILED_BYTES
        ):
            self.truncated = True
            return
        self.shown.append(entry)
        self._shown_bytes += size


def load(event: Transformed, deps: Deps) -> dict[str, Any]:
    """Load one run into the product; returns the loader summary."""
    began = time.monotonic()
    client_id, run_id, sync_type = event.client_id, event.run_id, event.sync_type
    bind_run("loader", client_id, sync_type, run_id)
    pages = [check_run_key(key, client_id, run_id) for key in event.canonical_pages]
    rejected = check_run_key(event.rejected_key, client_id, run_id)
    latency = LatencyRecorder()
    store = deps.run_store(event.bucket)
    deps.resume_run(client_id, run_id)
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
        with store.ndjson_writer(failed_records_key(client_id, run_id)) as writer:
            failed = FailedRecords(writer)
            mapping_rejects = 0
            for line in store.iter_lines(rejected):
                failed.add(line)
                mapping_rejects += 1
            canonical_count = 0
            success = 0
            with adapter_class(credentials, config, mapping, on_latency=latency) as adapter:
                for batch in batched(store.iter_records(pages), batch_size):
                    canonical_count += len(batch)
                    success += _load_one_batch(adapter, batch, failed)
    except TransientError as exc:
        deps.record_error(client_id, run_id, exc, final=False)
        raise
    except Exception as exc:
        deps.record_error(client_id, run_id, exc, final=True)
        raise
    finally:
        latency.emit(client_id, sync_type)

    processed = canonical_count + mapping_rejects
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
        "failed_records_key": writer.key,
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
