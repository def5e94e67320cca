"""The contracts' one paging shape, shared by every simulated listing.

Siesa's `GET /inventory/products` and `/inventory/stock`, Kong's `GET /products`
and the WMS's `GET /inventory/items` all take `page` (from 1) and `limit`
(1..1000, default 100) and answer `{"data": [...], "pagination": {page, limit,
total_records, total_pages}}`; a parameter outside that is a 400.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import request

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class BadParameter(ValueError):
    """A query parameter outside the contract (answered with 400 by every simulator app)."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page as the contract answers it."""

    data: list[dict[str, Any]]
    page: int
    limit: int
    total_records: int
    total_pages: int

    def as_json(self) -> dict[str, Any]:
        """The contract's `{"data": [...], "pagination": {...}}`."""
        return {
            "data": self.data,
            "pagination": {
                "page": self.page,
                "limit": self.limit,
                "total_records": self.total_records,
                "total_pages": self.total_pages,
            },
        }


def paginate(items: Sequence[dict[str, Any]], page: int, limit: int) -> Page:
    """Page `page` of `items` cut `limit` at a time (copies of the records)."""
    if page < 1 or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"page must be >= 1 and limit 1..{MAX_LIMIT}")
    start = (page - 1) * limit
    return Page(
        data=[dict(r) for r in items[start : start + limit]],
        page=page,
        limit=limit,
        total_records=len(items),
        total_pages=math.ceil(len(items) / limit),
    )


def int_param(name: str, default: int, low: int, high: int | None = None) -> int:
    """The request's integer query parameter `name`; BadParameter when it is not in low..high."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadParameter(f"{name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise BadParameter(f"{name} must be {bounds}, got {value}")
    return value


def requested_page() -> tuple[int, int]:
    """The request's `page` and `limit`, checked against the contract."""
    return int_param("page", 1, 1), int_param("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)


def page_of(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The page of `items` the request asks for, as the contract's JSON body."""
    page, limit = requested_page()
    return paginate(items, page, limit).as_json()
