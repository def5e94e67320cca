"""Lambda `siesa-integration-loader`: canonical pages -> the client's product, and the run summary.

Input: the transformer's output (a whole run, or one part of it: mode
`page` or `retried`, whose output is a tiny account), or the run's finish
step after the parts (mode `finish`, runtime/handlers/finish_run.py). Output: the design document's loader
summary (client_id, product_type, status, records_processed,
records_success, records_failed, failed_records, load_timestamp,
duration_seconds) plus run_id, sync_type, failed_records_truncated,
failed_records_key, failed_share_percent and failed_records_alert (the
alert the workflow publishes when the share is above the client's
threshold, else null).
"""

from __future__ import annotations

from typing import Any

# Used by every invocation's first call, so imported with the handler, in Lambda's init
# phase: product credentials and the HTTP stack every adapter uses (runtime.handlers.deps
# and the adapter registry import them only on first use).
from runtime import secrets  # noqa: F401
from runtime.adapters import base  # noqa: F401
from runtime.handlers.deps import Deps
from runtime.handlers.events import FinishRequest, Transformed, parse_event
from runtime.handlers.finish_run import finish
from runtime.handlers.load_part import load_part
from runtime.handlers.load_run import load
from runtime.observability import lambda_entry


@lambda_entry("loader")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Parse the event; load the run or one part, or finish the run; return the summary."""
    return handle(event, Deps())


def handle(event: Any, deps: Deps) -> dict[str, Any]:
    """The loader's work for `event`: the run's finish step (mode `finish`), one part of a run
    (mode `page` or `retried`), or a whole run."""
    if isinstance(event, dict) and event.get("mode") == "finish":
        return finish(parse_event(FinishRequest, event, "loader"), deps)
    transformed = parse_event(Transformed, event, "loader")
    if transformed.mode in ("page", "retried"):
        return load_part(transformed, deps)
    return load(transformed, deps)
