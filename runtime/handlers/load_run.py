"""One load run: the run's product-ready pages through the load core into the product, and the summary.

The transformer made each product record (runtime/stages/transform.py), so
the loader loads no mapping and runs no mapping code: what it holds, the
client's product credentials, never meets code from the bundle.

Every record of the run that did not reach the product lands in
`failed-records.ndjson` with its id, stage (`mapping` or `product`), reason
and its raw ERP record, for replay (failed_records.py); the summary lists
them too, capped so the workflow state stays small. Before the watermark
moves, the client's retry state (runtime/carryover.py) takes this run's
failures, so the next run tries them again as their kind says.

Up to the client's `product_concurrency` batches are at the product at once,
each request taken from the client's shared product budget (a 429 pauses
them all); outcomes are accounted in batch order (runtime/stages/load.py).

A run whose failed records are above the client's threshold of its records
in scope carries the alert in its summary (`failed_records_alert`,
runtime/stages/failed_alert.py); the workflow publishes it.

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runtime import settings
from runtime.adapters.base import ProductAdapter
from runtime.adapters.run_cache import RunCache
from runtime.budgets import PRODUCT_BUDGET_NAME
from runtime.carryover import keep_for_retry
from runtime.config import ClientConfig
from runtime.errors import RunDataError
from runtime.handlers.deps import Deps
from runtime.handlers.events import Extracted, Transformed
from runtime.handlers.failed_records import FailedRecords
from runtime.handlers.leaving import LeftScope, leave_scope
from runtime.handlers.stage_run import StageRun
from runtime.observability import LatencyRecorder, failed_share, logger, record_run_outcome
from runtime.run_ids import RunIds, RunIdSets
from runtime.runstore import RunStore, failed_records_key, run_started_at, summary_key
from runtime.stages.failed_alert import failed_records_alert
from runtime.stages.load import (
    LoadProgress,
    load_records,
    stop_lines,
    stop_reason,
    take_rejects,
    totals,
)
from runtime.stock_store import remember_loaded


def load(event: Transformed, deps: Deps) -> dict[str, Any]:
    """Load one whole run into the product; returns the loader summary."""
    began = time.monotonic()
    client_id, run_id, sync_type = event.client_id, event.run_id, event.sync_type
    deps = deps.for_client("loader", client_id)
    run = StageRun(deps, "loader", client_id, run_id, sync_type)
    pages = run.keys(event.canonical_pages)
    rejected = run.key(event.rejected_key)
    raw_pages = run.keys(
        [*event.extracted_pages, *([event.retried_key] if event.retried_key else [])]
    )
    latency = LatencyRecorder()
    store = deps.run_store(event.bucket)
    failed = FailedRecords(store.ndjson_writer(failed_records_key(client_id, run_id)))
    progress = LoadProgress()
    run.resume()
    try:
        with run.recording_errors():
            try:
                config = run.client_config(event.product_type)
                with opened_adapter(deps, config, latency, event.count) as (adapter, *sending):
                    send_part(store, adapter, rejected, pages, failed, progress, *sending)
                    ended = wrap_up(
                        store,
                        config,
                        event,
                        adapter,
                        RunLoad(
                            progress,
                            failed,
                            pages=pages,
                            rejected_key=rejected,
                            skipped=skipped_ids(store, run, event),
                        ),
                        raw_pages,
                        event.mapping_sha256,
                    )
            except Exception as exc:
                if not failed.writer.closed:
                    report_stop(store, failed, progress, exc, rejected, pages, raw_pages)
                note_loaded(deps, client_id, run_id, progress)
                raise
    finally:
        latency.emit(client_id, sync_type)
    return summarize(
        deps,
        store,
        config,
        event,
        ended,
        skipped_count=event.skipped_count,
        bundle_sha256=event.bundle_sha256,
        began=began,
    )


@dataclass
class RunLoad:
    """What the records of a run did at the product, for the steps that end the run.

    `pages` are the run's product-ready pages and `rejected_key` its mapping
    rejects (the stock store keeps what reached the product); `skipped` the
    ids a `skip when` rule left out.
    """

    progress: LoadProgress
    failed: FailedRecords
    pages: list[str]
    rejected_key: str
    skipped: list[str] = field(default_factory=list)
    kept_lines: list[str] | None = None
    """Where the run's pages wrote the records they sent (a run mapped page by page)."""
    ids: RunIds | None = None
    """The run's ids gathered from its pages (None: `progress` and `skipped` hold them)."""


@dataclass(frozen=True)
class Ended:
    """What the end of a run did: the counts, who left scope, the failed-records report."""

    load: RunLoad
    left: LeftScope
    failed_key: str


@contextmanager
def opened_adapter(
    deps: Deps,
    config: ClientConfig,
    latency: LatencyRecorder,
    count: int,
    workers: int | None = None,
    run_cache: RunCache | None = None,
) -> Iterator[tuple[ProductAdapter, int, int]]:
    """The client's product adapter, its requests taken from the client's shared product budget.

    Yields it with the batches it may have at the product at once (`workers`,
    else the client's `product_concurrency`) and the records per batch.
    `run_cache`: what the run's adapters share (a page's loader gives the run's).
    """
    batch_size = settings.batch_size(deps.batch_size)
    at_once = workers or deps.product_concurrency or config.product_concurrency
    credentials = deps.read_product_credentials(config)
    adapter_class = deps.adapter_class(config.product_type)
    logger.info(
        "Starting load",
        extra={
            "metadata": {
                "product_type": config.product_type,
                "count": count,
                "batch_size": batch_size,
                "concurrency": at_once,
            }
        },
    )
    budget = deps.budget_options(config, PRODUCT_BUDGET_NAME)
    with adapter_class(
        credentials, config, on_latency=latency, run_cache=run_cache, **budget
    ) as adapter:
        yield adapter, at_once, batch_size


def send_part(
    store: RunStore,
    adapter: ProductAdapter,
    rejected: str | None,
    pages: list[str],
    failed: FailedRecords,
    progress: LoadProgress,
    workers: int,
    batch_size: int,
) -> None:
    """The mapping's rejects to the report, then the product-ready pages to the product.

    `rejected` None: the mapping rejected nothing (a page's empty report is not written)."""
    take_rejects(store.iter_lines(rejected) if rejected else (), failed, progress)
    load_records(
        adapter,
        store.iter_records(pages),
        batch_size,
        failed,
        progress,
        workers=workers,
    )


def wrap_up(
    store: RunStore,
    config: ClientConfig,
    event: Extracted,
    adapter: ProductAdapter,
    done: RunLoad,
    raw_pages: list[str],
    mapping_sha256: str | None,
) -> Ended:
    """After the records: who left scope, the failed-records report, the stock store, the retry state.

    Everything here happens before the watermark moves (`summarize`).
    """
    client_id, run_id, sync_type = event.client_id, event.run_id, event.sync_type
    progress = done.progress
    ids = done.ids or RunIdSets(progress.handled, done.skipped, progress.loaded)
    left = (
        LeftScope(config.left_scope)  # a stock sync sees no record leave scope
        if sync_type == "stock"
        else leave_scope(
            store,
            adapter,
            client_id=client_id,
            run_id=run_id,
            choice=config.left_scope,
            full_sync=sync_type == "initial",
            ids=ids,
        )
    )
    failed_key = done.failed.finish(store, raw_pages)
    remember_loaded(
        store,
        config,
        sync_type,
        done.pages,
        None if done.kept_lines is not None else progress.loaded,  # kept lines: all were sent
        done.rejected_key,
        done.kept_lines,
    )
    if sync_type != "stock":  # a stock row is no record to map again
        _keep_for_retry(store, client_id, run_id, ids, done.failed, mapping_sha256)
    return Ended(done, left, failed_key)


def summarize(
    deps: Deps,
    store: RunStore,
    config: ClientConfig,
    event: Extracted,
    ended: Ended,
    *,
    skipped_count: int,
    bundle_sha256: str | None,
    began: float,
) -> dict[str, Any]:
    """The run's summary: written, recorded in run history with the new watermark, measured, logged."""
    client_id, run_id, sync_type = event.client_id, event.run_id, event.sync_type
    failed, left = ended.load.failed, ended.left
    counts = totals(ended.load.progress, failed.count)
    status = counts.status
    if status == "success" and left.failed:
        status = "partial"  # a record that left scope is still live in the product
    finished_at = deps.now_iso()
    duration = round(time.monotonic() - began, 3)
    alert = failed_records_alert(
        client_id=client_id,
        client_name=config.client_name,
        run_id=run_id,
        sync_type=sync_type,
        processed=counts.processed,
        failed=counts.failed,
        threshold_percent=config.failed_records_alert_percent,
        reasons=failed.reasons.counts,
        report_key=ended.failed_key,
    )
    summary: dict[str, Any] = {
        "client_id": client_id,
        "product_type": config.product_type,
        "status": status,
        "records_processed": counts.processed,
        "records_success": counts.success,
        "records_failed": counts.failed,
        "records_rejected": counts.mapping_rejected,
        "records_skipped": skipped_count,
        "records_left_scope": left.count,
        "left_scope": left.to_json(),
        "failed_records": failed.shown,
        "failed_records_truncated": failed.truncated,
        "failed_records_key": ended.failed_key,
        "failed_share_percent": failed_share(counts.processed, counts.failed),
        "failed_records_alert": alert.to_json() if alert is not None else None,
        "load_timestamp": finished_at,
        "duration_seconds": duration,
        "run_id": run_id,
        "sync_type": sync_type,
        "bundle_sha256": bundle_sha256,
    }
    store.put_json(summary_key(client_id, run_id), summary)
    deps.sync.finished(
        client_id,
        run_id,
        status=status,
        finished_at=finished_at,
        records_success=counts.success,
        watermark=None if sync_type == "stock" else event.watermark,  # stock: not a data sync
        records_processed=counts.processed,
        records_failed=counts.failed,
        records_loaded=counts.success,
        mapping_rejected=counts.mapping_rejected,
        records_skipped=skipped_count,
        records_left_scope=left.count,
        left_scope_failed=left.failed,
    )
    record_run_outcome(
        records_processed=counts.processed,
        records_failed=counts.failed,
        duration_seconds=_run_duration(run_id, event.extraction_timestamp, deps.clock()),
        status=status,
    )
    log = logger.warning if status != "success" else logger.info
    log(
        f"Load finished: {status}",
        extra={
            "metadata": {
                "records_processed": counts.processed,
                "records_success": counts.success,
                "records_failed": counts.failed,
                "mapping_rejected": counts.mapping_rejected,
                "records_skipped": skipped_count,
                "records_left_scope": left.count,
                "duration_seconds": duration,
                "failed_records_alert": alert is not None,
            }
        },
    )
    return summary


def skipped_ids(store: RunStore, run: StageRun, event: Transformed) -> list[str]:
    """The ids of the records the transformer skipped (its `skipped.ndjson`)."""
    if not event.skipped_key or not event.skipped_count:
        return []
    return [
        str(line["id"])
        for line in store.iter_lines(run.key(event.skipped_key))
        if isinstance(line, dict) and line.get("id") is not None
    ]


def _keep_for_retry(
    store: RunStore,
    client_id: str,
    run_id: str,
    ids: RunIds,
    failed: FailedRecords,
    mapping_sha256: str | None,
) -> None:
    """Hand this run's failures to the client's retry state, before the watermark moves."""
    try:
        if not keep_for_retry(store, client_id, run_id, ids, failed.for_retry, mapping_sha256):
            logger.info("a newer run's retry state is stored; this run's is not written")
    finally:
        failed.for_retry.close()


def note_loaded(deps: Deps, client_id: str, run_id: str, progress: LoadProgress) -> None:
    """What a stopping run loaded before it stopped, on its history item (`siesa run show`).

    Bookkeeping never hides the error: its own failure is only logged.
    """
    try:
        deps.history.update(client_id, run_id, records_loaded=progress.success)
    except Exception:
        logger.exception("could not record what the stopped run loaded")


def report_stop(
    store: RunStore,
    failed: FailedRecords,
    progress: LoadProgress,
    exc: Exception,
    rejected: str | None,
    pages: list[str],
    raw_pages: list[str],
) -> None:
    """Report every record a stopping run did not load, then upload the report.

    Bookkeeping never hides the error: its own failures are only logged.
    """
    try:
        try:
            if not progress.rejects_read and rejected:
                for line in store.iter_lines(rejected):
                    failed.add(line)
            reason = stop_reason(exc)
            for line in stop_lines(progress, store.iter_records(pages), failed, reason):
                failed.add(line)
        except RunDataError:
            logger.exception("the stopped run's records could not all be read for its report")
        failed.finish(store, raw_pages)
    except Exception:
        logger.exception("could not write the failed-records report of the stopped run")


def _run_duration(run_id: str, extraction_timestamp: str, now: datetime) -> float:
    """Seconds from the run's extraction start to `now` (SyncDuration)."""
    try:
        started = datetime.fromisoformat(extraction_timestamp.replace("Z", "+00:00"))
    except ValueError:
        started = run_started_at(run_id)
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return max(0.0, round((now - started).total_seconds(), 3))
