"""Lambda `siesa-integration-extractor`: Siesa -> deduplicated NDJSON pages in S3.

Input `{"client_id", "sync_type"}` (optionally `run_id`); output the
claim-check of docs/architecture.md (client_id, product_type, sync_type,
run_id, bucket, extracted_pages, count, extraction_timestamp, watermark).
"""

from __future__ import annotations

from typing import Any

# Used by every invocation's first call, so imported with the handler, in Lambda's init
# phase: Siesa credentials and clients (runtime.handlers.deps imports them only on first
# use, so the other handlers never pay for them).
from runtime import secrets, siesa  # noqa: F401
from runtime.handlers.deps import Deps
from runtime.handlers.events import ExtractRequest, parse_event
from runtime.handlers.extract_run import extract
from runtime.observability import lambda_entry


@lambda_entry("extractor")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Parse the event, extract, return the claim-check (or the cursor to continue at)."""
    request = parse_event(ExtractRequest, event, "extractor")
    return extract(request, Deps(), context).model_dump()
