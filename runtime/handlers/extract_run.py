"""One extraction run: the client's source through the extract core into the run store.

1. The client's config (it must be enabled); the client's run lease
   (lease_guard.py: another execution of the client running, this start is
   skipped and says which); the run starts (run history).
2. The watermark is taken NOW, before the first page (stages/extract.py).
3. Siesa credentials, the client's source (its requests taken from the
   client's shared ERP budget), every page streamed into S3 with one copy
   per record (the newest).

A transient error with the event's own run id ends the run as failed until
the workflow's retry resumes it; without one, the retry is a new run, so
this one ends as failed (the client's last_sync_status and the success
rate wait for the retry's outcome). Anything else fails the run for good.
"""

from __future__ import annotations

from runtime.budgets import SIESA_BUDGET_NAME
from runtime.handlers.deps import Deps
from runtime.handlers.events import Extracted, ExtractRequest, Skipped
from runtime.handlers.lease_guard import take_lease
from runtime.handlers.stage_run import StageRun
from runtime.observability import LatencyRecorder, bind_run, logger
from runtime.stages.dedup import DedupWriter
from runtime.stages.extract import deduplicate, plan_extraction
from runtime.stages.stock import check_stock_sync, stock_row_identity


def extract(request: ExtractRequest, deps: Deps) -> Extracted | Skipped:
    """Run one extraction; returns the claim-check for the transformer, or why it was skipped."""
    client_id, sync_type = request.client_id, request.sync_type
    bind_run("extractor", client_id, sync_type)
    deps = deps.for_client("extractor", client_id)
    config = deps.configs.get(client_id, require_enabled=True)
    if sync_type == "stock":
        check_stock_sync(config)  # refused before the lease: nothing ran
    plan = plan_extraction(config, sync_type, deps.clock(), request.run_id)
    run = StageRun(deps, "extractor", client_id, plan.run_id, sync_type)
    logger.info(
        "Starting data extraction",
        extra={
            "metadata": {
                "sync_type": sync_type,
                "last_sync": config.last_sync_timestamp,
                "modified_since": plan.modified_since,
                "product_type": config.product_type,
            }
        },
    )
    skipped = take_lease(request, deps, run_id=plan.run_id, started_at=plan.started_at)
    if skipped is not None:
        return skipped
    if sync_type == "incremental" and plan.modified_since is None:
        logger.info("no watermark yet: this incremental sync extracts everything")
    deps.history.start(
        client_id,
        plan.run_id,
        sync_type=sync_type,
        started_at=plan.started_at,
        product_type=config.product_type,
        modified_since=plan.modified_since,
        watermark=plan.watermark,
    )
    latency = LatencyRecorder()
    store = deps.run_store()
    try:
        with run.recording_errors(resumable=request.run_id is not None):
            credentials = deps.read_siesa_credentials(config)
            budget = deps.budget_options(config, SIESA_BUDGET_NAME)
            with deps.source_factory(config, credentials, on_latency=latency, **budget) as source:
                stock = sync_type == "stock"  # stock rows: one per item and warehouse
                writer = DedupWriter(
                    store.page_writer(client_id, plan.run_id, "extracted"),
                    key_of=stock_row_identity if stock else source.record_key,
                    modified_of=(lambda row: "") if stock else source.record_modified,
                )
                pages = source.iter_stock_pages() if stock else source.iter_pages(plan.since)
                outcome = deduplicate(pages, writer, store)
    finally:
        latency.emit(client_id, sync_type)
    deps.history.update(
        client_id,
        plan.run_id,
        extracted_count=outcome.count,
        duplicates_dropped=outcome.duplicates,
        extracted_at=deps.now_iso(),
    )
    logger.info(
        "Extraction finished",
        extra={
            "metadata": {
                "count": outcome.count,
                "pages": len(outcome.pages),
                "duplicates_dropped": outcome.duplicates,
                "pages_rewritten": outcome.rewritten_pages,
            }
        },
    )
    return Extracted(
        client_id=client_id,
        product_type=config.product_type,
        sync_type=sync_type,
        run_id=plan.run_id,
        bucket=store.bucket,
        extracted_pages=outcome.pages,
        count=outcome.count,
        extraction_timestamp=plan.started_at,
        watermark=plan.watermark,
    )
