"""One part of a run into the product: a Map iteration's extracted page, or the retried records.

The transformer mapped the part (mode `page` or `retried`); this loads its
product-ready pages and reports its failed records under the part, with
their raw ERP copies, then writes what it sent as the client's stock store keeps it
(`sent-records.ndjson`, read by the finish step instead of the run's pages)
and the part's account (`loaded.json`, runtime/handlers/parts.py). The run's finish step adds the parts up: the
summary, the retry state, the watermark and the alerts are its, not a part's.

The Map state runs `page_concurrency` parts at once (the client's
`product_concurrency`), so each part sends its batches one `workers` at a
time: the client's concurrency divided among the parts the Map runs at once.
A part that stops reports every record it did not load, as a whole-run load
does, before the error propagates (the workflow retries the part: product
writes are upserts).
"""

from __future__ import annotations

import math
from typing import Any

from runtime.config import ClientConfig
from runtime.errors import RunDataError
from runtime.handlers.deps import Deps
from runtime.handlers.events import Transformed
from runtime.handlers.failed_records import FailedRecords
from runtime.handlers.load_run import opened_adapter, report_stop, send_part, skipped_ids
from runtime.handlers.parts import loaded_part_key, sent_part_key
from runtime.handlers.run_cache import StoredRunCache
from runtime.handlers.stage_run import StageRun
from runtime.observability import LatencyRecorder, logger
from runtime.runstore import RunStore, failed_records_key, part_of_page
from runtime.stages.load import LoadProgress
from runtime.stock_store import rejected_parts, sent_lines


def part_workers(concurrency: int, page_concurrency: int, page_count: int) -> int:
    """Batches one part sends at once: the client's concurrency shared by the parts running."""
    running = max(1, min(page_concurrency, page_count))
    return max(1, math.ceil(concurrency / running))


def load_part(event: Transformed, deps: Deps) -> dict[str, Any]:
    """Load one part; returns a tiny account (the Map state's iterations keep nothing)."""
    client_id, run_id, sync_type = event.client_id, event.run_id, event.sync_type
    deps = deps.for_client("loader", client_id)
    run = StageRun(deps, "loader", client_id, run_id, sync_type)
    part = "retried" if event.mode == "retried" else part_of_page(run.key(event.page_key or ""))
    pages = run.keys(event.canonical_pages)
    rejected = run.key(event.rejected_key) if event.rejected_count else None
    raw_pages = run.keys(
        [
            *([event.page_key] if event.page_key else []),
            *([event.retried_key] if event.retried_key else []),
        ]
    )
    latency = LatencyRecorder()
    store = deps.run_store(event.bucket)
    failed = FailedRecords(
        store.ndjson_writer(failed_records_key(client_id, run_id, part), skip_empty=True)
    )
    progress = LoadProgress()
    run.resume()
    try:
        with run.recording_errors():
            try:
                config = run.client_config(event.product_type)
                concurrency = deps.product_concurrency or config.product_concurrency
                workers = part_workers(concurrency, event.page_concurrency, event.pages_in_run)
                cache = StoredRunCache(store, client_id, run_id)  # e.g. WMS zones: once a run
                with opened_adapter(deps, config, latency, event.count, workers, cache) as (
                    adapter,
                    *sending,
                ):
                    send_part(store, adapter, rejected, pages, failed, progress, *sending)
                failed_key = failed.finish(store, raw_pages)
                _keep_sent(store, config, event, part, pages, rejected, progress)
            except Exception as exc:
                if not failed.writer.closed:
                    report_stop(store, failed, progress, exc, rejected, pages, raw_pages)
                    _account(
                        store,
                        run,
                        event,
                        part,
                        progress,
                        failed,
                        failed.writer.key,
                        pages,
                        rejected,
                        stopped=True,
                    )
                raise
    finally:
        latency.emit(client_id, sync_type)
    _account(store, run, event, part, progress, failed, failed_key, pages, rejected)
    logger.info(
        f"Part {part} loaded",
        extra={
            "metadata": {
                "records": progress.processed,
                "success": progress.success,
                "failed": failed.count,
                "workers": workers,
            }
        },
    )
    return {"part": part, "records": progress.processed, "failed": failed.count}


def _account(
    store: RunStore,
    run: StageRun,
    event: Transformed,
    part: str,
    progress: LoadProgress,
    failed: FailedRecords,
    failed_key: str,
    pages: list[str],
    rejected: str | None,
    *,
    stopped: bool = False,
) -> None:
    """The part's `loaded.json`; `stopped`: the part stopped (what it loaded still counts)."""
    try:
        skipped = skipped_ids(store, run, event)
    except RunDataError:
        if not stopped:
            raise
        skipped = []
    store.put_json(
        loaded_part_key(event.client_id, event.run_id, part),
        {
            "stopped": stopped,
            "sent": not stopped,  # its sent-records.ndjson is written
            "canonical_count": progress.canonical_count,
            "mapping_rejected": progress.mapping_rejects,
            "success": progress.success,
            "failed": failed.count,
            "failed_key": failed_key,
            "handled": sorted(progress.handled),
            "loaded": sorted(progress.loaded),
            "skipped": skipped,
            "skipped_count": event.skipped_count,
            "canonical_pages": pages,
            "rejected_key": rejected,
        },
    )


def _keep_sent(
    store: RunStore,
    config: ClientConfig,
    event: Transformed,
    part: str,
    pages: list[str],
    rejected: str | None,
    progress: LoadProgress,
) -> None:
    """What the part sent, as the client's stock store keeps it, while its pages are at hand."""
    with store.ndjson_writer(sent_part_key(event.client_id, event.run_id, part)) as kept:
        for line in sent_lines(
            store,
            config,
            store.iter_records(pages),
            progress.loaded,
            rejected_parts(store.iter_lines(rejected)) if rejected else {},
        ):
            kept.write(line)
