"""The extractor's core: Siesa pages in, deduplicated NDJSON pages in S3 out.

1. The client's config (it must be enabled); the run starts (run history).
2. The watermark is taken NOW, before the first page: records changed while
   the run pages through are caught by the next incremental run.
3. Siesa credentials, the client's source, every page streamed into S3 with
   one copy per record (the newest).
"""

from __future__ import annotations

from datetime import datetime

from runtime.config_store import utc_now_iso
from runtime.errors import TransientError
from runtime.handlers.dedup import DedupWriter
from runtime.handlers.deps import Deps
from runtime.handlers.events import Extracted, ExtractRequest
from runtime.observability import LatencyRecorder, bind_run, logger, record_run_failed
from runtime.runstore import new_run_id
from runtime.sync_state import extraction_watermark, modified_since


def iso_utc(moment: datetime) -> str:
    """`2025-01-15T10:00:00Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def extract(request: ExtractRequest, deps: Deps) -> Extracted:
    """Run one extraction; returns the claim-check for the transformer."""
    client_id, sync_type = request.client_id, request.sync_type
    bind_run("extractor", client_id, sync_type)
    config = deps.configs.get(client_id, require_enabled=True)
    started = deps.clock().replace(microsecond=0)
    run_id = request.run_id or new_run_id(started)
    bind_run("extractor", client_id, sync_type, run_id)
    since = modified_since(config, sync_type)
    watermark = extraction_watermark(started, config.siesa_timezone)
    logger.info(
        "Starting data extraction",
        extra={
            "metadata": {
                "sync_type": sync_type,
                "last_sync": config.last_sync_timestamp,
                "modified_since": since,
                "product_type": config.product_type,
            }
        },
    )
    if sync_type == "incremental" and since is None:
        logger.info("no watermark yet: this incremental sync extracts everything")
    deps.history.start(
        client_id,
        run_id,
        sync_type=sync_type,
        started_at=iso_utc(started),
        product_type=config.product_type,
        modified_since=since,
        watermark=watermark,
    )
    latency = LatencyRecorder()
    store = deps.run_store()
    try:
        credentials = deps.siesa_credentials(config)
        with deps.source_factory(config, credentials, on_latency=latency) as source:
            writer = DedupWriter(
                store.page_writer(client_id, run_id, "extracted"),
                key_of=source.record_key,
                modified_of=source.record_modified,
            )
            writer.add_pages(source.iter_pages(datetime.fromisoformat(since) if since else None))
            outcome = writer.finish(store)
    except TransientError as exc:
        _record_error(
            deps,
            client_id,
            run_id,
            exc,
            transient=True,
            same_run_retried=request.run_id is not None,
        )
        raise
    except Exception as exc:
        _record_error(deps, client_id, run_id, exc, transient=False, same_run_retried=False)
        raise
    finally:
        latency.emit(client_id, sync_type)
    deps.history.update(
        client_id,
        run_id,
        extracted_count=outcome.count,
        duplicates_dropped=outcome.duplicates,
        extracted_at=utc_now_iso(),
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
        run_id=run_id,
        bucket=store.bucket,
        extracted_pages=outcome.pages,
        count=outcome.count,
        extraction_timestamp=iso_utc(started),
        watermark=watermark,
    )


def _record_error(
    deps: Deps,
    client_id: str,
    run_id: str,
    exc: Exception,
    *,
    transient: bool,
    same_run_retried: bool,
) -> None:
    """Record a failed extraction without hiding it (bookkeeping failures are only logged).

    Transient: the workflow retries. With the event's own run id the same run
    goes on: it ends as failed-but-retryable and the retry resumes it;
    otherwise the retry is a new run, so this one ends as failed. Either way
    the client's last_sync_status and the success rate wait for the retry's
    outcome. Anything else fails the run for good.
    """
    try:
        if transient and same_run_retried:
            deps.history.fail_retryable(client_id, run_id, error=exc, finished_at=utc_now_iso())
        elif transient:
            deps.history.fail(client_id, run_id, error=exc, finished_at=utc_now_iso())
        else:
            deps.sync.failed(client_id, run_id, exc)
            record_run_failed()
    except Exception:
        logger.exception("could not record the failed extraction in run history")
