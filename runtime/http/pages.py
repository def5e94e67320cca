"""The one page shape of the contracts' paged listings, checked the same way for every API.

Siesa's `GET /inventory/products`, Kong's `GET /products` and the WMS's
`GET /inventory/items` take `page` (from 1) and `limit` (at most 1000) and
answer `{"data": [...], "pagination": {page, limit, total_records,
total_pages}}`. A body that is not that shape is a malformed page: the API
client retries it like any bad body, never takes it as it is.
"""

from __future__ import annotations

from typing import Any

MAX_PAGE_SIZE = 1000
"""The largest `limit` the contracts allow."""


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_page(body: Any, limit: int = MAX_PAGE_SIZE) -> str | None:
    """Why a decoded body is not a page of the contracts for `limit`, or None when it is.

    A page longer than the `limit` asked for is a server that ignores it: the
    page is refused, never taken as it is.
    """
    if not isinstance(body, dict):
        return "the page is not a JSON object"
    data = body.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        return "`data` is not a list of objects"
    if len(data) > limit:
        return f"the page holds {len(data)} records, more than the limit of {limit} asked for"
    pagination = body.get("pagination")
    if not isinstance(pagination, dict):
        return "`pagination` is missing"
    if not _whole(pagination.get("total_pages")):
        return "`pagination.total_pages` is not a whole number"
    return None


def total_records(body: dict[str, Any], fallback: int) -> int:
    """`pagination.total_records` of a checked page (the contracts require it), else `fallback`."""
    value = body["pagination"].get("total_records")
    return value if _whole(value) else fallback
