"""What a product's listing page must be before its records are taken (runtime/adapters/listing.py)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.adapters.listing import check_listing_page


def page(data: list[Any], **pagination: Any) -> dict[str, Any]:
    return {
        "data": data,
        "pagination": {"page": 1, "limit": 2, "total_records": 2, "total_pages": 1} | pagination,
    }


def test_a_page_of_the_contract_passes() -> None:
    assert check_listing_page(page([{"item_id": "A"}, {"item_id": "B"}]), 2, "item_id") is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "not a JSON object"),
        (page([{"item_id": "A"}, {"sku": "B"}]), "a record has no `item_id`"),
        (page([{"item_id": 7}]), "a record has no `item_id`"),
        (page([{"item_id": "A"}] * 3), "more than the limit of 2"),
        (page([], total_records=None), "`pagination.total_records` is not a whole number"),
        (page([], total_records=-1), "`pagination.total_records` is not a whole number"),
        (page([], total_pages="1"), "`pagination.total_pages` is not a whole number"),
        ({"data": []}, "`pagination` is missing"),
    ],
)
def test_a_page_off_the_contract_is_refused_with_the_reason(body: Any, reason: str) -> None:
    problem = check_listing_page(body, 2, "item_id")
    assert problem is not None and reason in problem
