"""A product's whole holding, read through its paged listing (Kong GET /products, WMS GET .../items).

The listing is cut at request time, in id order. The products have no
DELETE, so a record stored while the listing is paged shows as a change of
`pagination.total_records`, and shifts every later record by one: one is
then read twice or not at all. A pass is taken only when every page
counted the same total and the records read are exactly that many;
otherwise the listing is paged again, up to MAX_PASSES times, then
ProductUnavailable (the holding kept changing: try again when no sync runs).
A record the product really holds twice is counted twice by the product
too, so it passes, and reconciliation reports it.
"""

from __future__ import annotations

from typing import Any

from runtime.adapters.product_api import BatchRejected, ProductApi
from runtime.errors import ProductResponseError, ProductUnavailable
from runtime.http.pages import MAX_PAGE_SIZE, check_page, total_records
from runtime.observability import logger

MAX_PASSES = 3
"""Passes over the listing when records are stored while it is paged."""


def check_listing_page(body: Any, limit: int, id_field: str) -> str | None:
    """Why a decoded body is not a listing page of stored records, or None when it is."""
    problem = check_page(body, limit)
    if problem is not None:
        return problem
    if total_records(body, -1) < 0:
        return "`pagination.total_records` is not a whole number"
    for record in body["data"]:
        if not isinstance(record.get(id_field), str):
            return f"a record has no `{id_field}`"
    return None


def read_listing(
    api: ProductApi, url: str, id_field: str, page_size: int = MAX_PAGE_SIZE
) -> list[dict[str, Any]]:
    """Every record the listing at `url` serves, in its order, from one pass that agreed with itself."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
    counted: set[int] = set()
    records: list[dict[str, Any]] = []
    for attempt in range(1, MAX_PASSES + 1):
        records, counted = _one_pass(api, url, id_field, page_size)
        if len(counted) == 1 and len(records) in counted:
            return records
        if attempt < MAX_PASSES:
            logger.info(
                f"{api.api_name} listing changed while paging; paging again",
                extra={"metadata": {"read": len(records), "totals": sorted(counted)}},
            )
    raise ProductUnavailable(
        f"{api.api_name}'s stored records kept changing while its listing was paged: "
        f"{len(records)} read, totals of {', '.join(str(n) for n in sorted(counted))} counted, "
        f"after {MAX_PASSES} passes; try again when no sync of the client runs"
    )


def _one_pass(
    api: ProductApi, url: str, id_field: str, page_size: int
) -> tuple[list[dict[str, Any]], set[int]]:
    """Pages 1, 2, ... until `total_pages`, an empty page, or more records than counted."""
    records: list[dict[str, Any]] = []
    counted: set[int] = set()
    page = 1
    while True:
        try:
            body = api.call(
                "GET",
                url,
                params={"page": page, "limit": page_size},
                check=lambda body: check_listing_page(body, page_size, id_field),
            )
        except BatchRejected as exc:  # a 400: the product refused the paging parameters
            raise ProductResponseError(exc.reason) from None
        counted.add(total_records(body, 0))
        records.extend(body["data"])
        if not body["data"] or page >= body["pagination"]["total_pages"]:
            return records, counted
        if len(records) > max(counted):
            return records, counted
        page += 1
