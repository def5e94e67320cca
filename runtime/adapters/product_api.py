"""The HTTP side every product shares: its status → error table and its bulk calls.

Products follow one contract shape (kong/wms.openapi.yaml): bulk POSTs of at
most 100 items answering 200 with per-item results in request order, 400 for
a request refused whole, 401 bad credentials, 429 with Retry-After, 500/503
transient. A request refused whole is split in halves until the records that
cause it are found, so one bad record never fails its 99 neighbours.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from runtime.adapters.results import ITEM_STATUSES, ItemOutcome
from runtime.errors import (
    Action,
    IntegrationError,
    ProductAuthError,
    ProductRateLimited,
    ProductResponseError,
    ProductResponseTooLarge,
    ProductResponseTooSlow,
    ProductUnavailable,
)
from runtime.http import TRANSIENT_STATUSES, Failure, JsonApi


class BatchRejected(IntegrationError):
    """HTTP 400 for a whole request: skip what caused it, go on (never leaves the adapter)."""

    action: ClassVar[Action] = "skip"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.reason = message


class ProductApi(JsonApi):
    """One product's HTTP calls; `error_for` is its one status → error table."""

    def error_for(self, failure: Failure) -> IntegrationError:
        """400 skips; 401/403 stop; 429 and a held budget wait; 5xx, timeouts, drops, bad bodies retry."""
        message = failure.describe(self.api_name)
        if failure.kind == "too_large":
            return ProductResponseTooLarge(message)
        if failure.kind == "deadline":
            return ProductResponseTooSlow(message)
        if failure.kind == "budget":
            return ProductRateLimited(message, retry_after=failure.retry_after)
        if failure.kind != "status":
            return ProductUnavailable(message)
        if failure.status == 400:
            return BatchRejected(message)
        if failure.status in (401, 403):
            return ProductAuthError(message)
        if failure.status == 429:
            return ProductRateLimited(message, retry_after=failure.retry_after)
        if failure.status in TRANSIENT_STATUSES:
            return ProductUnavailable(message)
        return ProductResponseError(message)

    def post_items(
        self, url: str, items: Sequence[dict[str, Any]], ids: Sequence[str]
    ) -> list[ItemOutcome]:
        """One outcome per item, in order. A 400 for the whole request is bisected."""
        try:
            body = self.call("POST", url, json_body=list(items), check=check_bulk_result)
        except BatchRejected as exc:
            if len(items) == 1:
                return [ItemOutcome(ids[0], "error", exc.reason)]
            middle = len(items) // 2
            return self.post_items(url, items[:middle], ids[:middle]) + self.post_items(
                url, items[middle:], ids[middle:]
            )
        return [
            outcome
            if outcome.error is None
            else replace(outcome, error=self.clean_text(outcome.error))
            for outcome in match_results(ids, body["results"], self.api_name)
        ]


def check_bulk_result(body: Any) -> str | None:
    """Why a decoded body is not a BulkResult of the contract, or None when it is."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return "the body has no `results` list"
    for entry in body["results"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("status"), str):
            return "a result has no `status`"
        if not isinstance(entry.get("id"), str | int) or isinstance(entry.get("id"), bool):
            return "a result has no `id`"
    return None


def match_results(
    ids: Sequence[str], results: list[dict[str, Any]], api_name: str
) -> list[ItemOutcome]:
    """Pair each sent id with its result: by position when the product kept the order, else by id.

    An id the product did not answer for fails as retryable (no verdict was
    given); an unknown status fails with what the product said.
    """
    if len(results) == len(ids) and all(
        str(r["id"]) == i for r, i in zip(results, ids, strict=True)
    ):
        ordered: list[dict[str, Any] | None] = list(results)
    else:
        by_id: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        for received in results:
            by_id[str(received["id"])].append(received)
        ordered = [by_id[i].popleft() if by_id[i] else None for i in ids]
    outcomes = []
    for record_id, entry in zip(ids, ordered, strict=True):
        if entry is None:
            outcomes.append(
                ItemOutcome(
                    record_id, "error", f"{api_name} gave no result for this record", retryable=True
                )
            )
            continue
        status = entry["status"]
        error = entry.get("error")
        if status not in ITEM_STATUSES:
            outcomes.append(
                ItemOutcome(record_id, "error", f"{api_name} answered an unknown status {status!r}")
            )
        elif status == "error":
            outcomes.append(
                ItemOutcome(
                    record_id, "error", f"{api_name}: {error or 'rejected, no reason given'}"
                )
            )
        else:
            outcomes.append(ItemOutcome(record_id, status))
    return outcomes
