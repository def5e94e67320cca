"""Lambda `siesa-integration-transformer`: extracted pages -> canonical pages and a validation report.

Input: the extractor's output. Output: the same plus canonical_pages, count,
rejected_count, rejected_key, transformation_timestamp and validation_errors
(count, warnings, by_field, report_key).
"""

from __future__ import annotations

from typing import Any

from runtime.handlers.deps import Deps
from runtime.handlers.events import Extracted, parse_event
from runtime.handlers.transform_run import transform
from runtime.observability import lambda_entry


@lambda_entry("transformer")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Parse the event, transform, return the claim-check."""
    extracted = parse_event(Extracted, event, "transformer")
    return transform(extracted, Deps()).model_dump()
