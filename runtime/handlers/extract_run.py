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

4. When the invocation's time runs low (less than EXTRACT_RESERVE_MS left,
   or EXTRACT_MAX_PAGES ERP pages read), it writes its open page and the
   stale copies it noted (`extract-state/`) and hands back a cursor
   (`Continuing`): the workflow invokes the extractor again with it, and the
   next invocation resumes the ERP listing where it stopped, its dedup index
   in the dedup table (runtime/stages/dedup_index.py). The last invocation
   rewrites the pages holding stale copies and lists the run's pages.
"""

from __future__ import annotations

from typing import Any

from runtime import settings
from runtime.budgets import SIESA_BUDGET_NAME
from runtime.handlers.deps import Deps
from runtime.handlers.events import (
    Continuing,
    ExtractCursor,
    Extracted,
    ExtractRequest,
    Skipped,
)
from runtime.handlers.lease_guard import take_lease
from runtime.handlers.stage_run import StageRun
from runtime.observability import LatencyRecorder, bind_run, logger
from runtime.runstore import RunStore, page_number, run_prefix, stale_marks_key
from runtime.stages.dedup import DedupOutcome, DedupWriter
from runtime.stages.dedup_index import MemoryDedupIndex
from runtime.stages.extract import (
    ExtractionPlan,
    InvocationBudget,
    extract_pages,
    plan_extraction,
    resumed_plan,
)
from runtime.stages.stock import check_stock_sync, stock_row_identity


def extract(
    request: ExtractRequest, deps: Deps, context: Any = None
) -> Extracted | Skipped | Continuing:
    """Run one extraction invocation; the claim-check, why it was skipped, or where to resume.

    `context` is Lambda's: with less than EXTRACT_RESERVE_MS left (or
    EXTRACT_MAX_PAGES pages read) the invocation hands back a cursor.
    """
    client_id, sync_type, cursor = request.client_id, request.sync_type, request.cursor
    bind_run("extractor", client_id, sync_type)
    deps = deps.for_client("extractor", client_id)
    config = deps.configs.get(client_id, require_enabled=True)
    if sync_type == "stock":
        check_stock_sync(config)  # refused before the lease: nothing ran
    if cursor is not None and request.run_id is not None:
        plan = resumed_plan(
            request.run_id, cursor.started_at, cursor.modified_since, cursor.watermark
        )
    else:
        cursor = None
        plan = plan_extraction(config, sync_type, deps.clock(), request.run_id)
    run = StageRun(deps, "extractor", client_id, plan.run_id, sync_type)
    if cursor is not None:
        logger.info("Resuming extraction", extra={"metadata": {"invocation": cursor.seq}})
        run.resume()  # a retry after a transient error reopens the run (no-op when open)
    else:
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
    seq = cursor.seq if cursor is not None else 0
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = InvocationBudget(
        remaining if callable(remaining) else None,
        settings.extract_reserve_ms(),
        settings.extract_max_pages(),
    )
    latency = LatencyRecorder()
    store = deps.run_store()
    try:
        with run.recording_errors(resumable=request.run_id is not None):
            credentials = deps.read_siesa_credentials(config)
            options = deps.budget_options(config, SIESA_BUDGET_NAME)
            with deps.source_factory(config, credentials, on_latency=latency, **options) as source:
                stock = sync_type == "stock"  # stock rows: one per item and warehouse
                writer = DedupWriter(
                    store.page_writer(
                        client_id, plan.run_id, "extracted", cursor.next_page if cursor else 1
                    ),
                    key_of=stock_row_identity if stock else source.record_key,
                    modified_of=(lambda row: "") if stock else source.record_modified,
                    # a stock listing is read in one pass by one invocation: its index stays
                    # in memory (in DynamoDB it cost a write per stock row, every 15 minutes)
                    index=MemoryDedupIndex()
                    if stock
                    else deps.dedup_index(client_id, plan.run_id, seq),
                    count=cursor.count if cursor else 0,
                    duplicates=cursor.duplicates if cursor else 0,
                )
                pages = (
                    ((rows, None) for rows in source.iter_stock_pages())
                    if stock  # one pass, in one invocation: stock rows have no change stamp
                    else source.pages_from(
                        plan.since, cursor.source if cursor else None, lambda: writer.count
                    )
                )
                position = extract_pages(pages, writer, budget)
                if position is not None:
                    return _suspend(request, plan, store, writer, seq, position)
                if seq:
                    writer.stale = _stale_marks(store, client_id, plan.run_id, seq, writer.stale)
                outcome = writer.finish(store)
                if seq:
                    outcome.pages = _pages_written(store, client_id, plan.run_id, writer)
    finally:
        latency.emit(client_id, sync_type)
    concurrency = min(
        deps.product_concurrency or config.product_concurrency, settings.max_page_concurrency()
    )
    return _finished(request, deps, config.product_type, concurrency, plan, store, outcome, seq + 1)


def _suspend(
    request: ExtractRequest,
    plan: ExtractionPlan,
    store: RunStore,
    writer: DedupWriter,
    seq: int,
    position: dict[str, Any],
) -> Continuing:
    """Write the open page and this invocation's stale marks; the cursor the next one resumes at."""
    next_page = writer.suspend()
    marks = {str(page): sorted(keys) for page, keys in sorted(writer.stale.items())}
    store.put_json(stale_marks_key(request.client_id, plan.run_id, seq), marks)
    logger.info(
        "Extraction continues in another invocation",
        extra={"metadata": {"invocation": seq, "count": writer.count, "next_page": next_page}},
    )
    return Continuing(
        client_id=request.client_id,
        sync_type=request.sync_type,
        run_id=plan.run_id,
        cursor=ExtractCursor(
            seq=seq + 1,
            source={key: int(value) for key, value in position.items()},
            next_page=next_page,
            count=writer.count,
            duplicates=writer.duplicates,
            started_at=plan.started_at,
            modified_since=plan.modified_since,
            watermark=plan.watermark,
        ),
    )


def _stale_marks(
    store: RunStore, client_id: str, run_id: str, seq: int, own: dict[int, set[str]]
) -> dict[int, set[str]]:
    """The stale copies the run's earlier invocations noted, with this one's.

    Only those of finished invocations (seq below this one's): a failed
    attempt's marks were written over by its retry, or are ignored.
    """
    merged = {page: set(keys) for page, keys in own.items()}
    finished = {stale_marks_key(client_id, run_id, earlier) for earlier in range(seq)}
    for key in store.list_keys(run_prefix(client_id, run_id) + "extract-state/"):
        if key in finished:
            for page, keys in store.get_json(key).items():
                merged.setdefault(int(page), set()).update(keys)
    return merged


def _pages_written(store: RunStore, client_id: str, run_id: str, writer: DedupWriter) -> list[str]:
    """The run's extracted pages, listed; pages past the last one (a failed attempt's) removed."""
    last = writer.writer.open_page
    pages: list[str] = []
    for key in store.list_keys(run_prefix(client_id, run_id) + "extracted/"):
        if page_number(key) < last:
            pages.append(key)
        else:
            store.delete(key)
    return pages


def _finished(
    request: ExtractRequest,
    deps: Deps,
    product_type: str,
    concurrency: int,
    plan: ExtractionPlan,
    store: RunStore,
    outcome: DedupOutcome,
    invocations: int,
) -> Extracted:
    """Record the extraction in run history; the claim-check for the transformer."""
    client_id = request.client_id
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
                "invocations": invocations,
            }
        },
    )
    inline_max = settings.inline_max_pages()
    listed = len(outcome.pages) <= inline_max or request.sync_type == "stock"
    return Extracted(
        client_id=client_id,
        product_type=product_type,
        sync_type=request.sync_type,
        run_id=plan.run_id,
        bucket=store.bucket,
        # a large run's pages are read from S3 by the distributed Map: the state stays small
        extracted_pages=outcome.pages if listed else [],
        count=outcome.count,
        extraction_timestamp=plan.started_at,
        watermark=plan.watermark,
        page_count=len(outcome.pages),
        page_concurrency=concurrency,
        inline_max_pages=inline_max,
    )
