"""A third product, TMS (transport management), to show what adding a product takes.

This module and `tms.map` are all of it: the adapter registers itself, says
how it authenticates and which call it makes; batching, validation of the id,
per-item results, retries and the error matrix come from `ProductAdapter`.
"""

from __future__ import annotations

from typing import Any

import httpx

from runtime.adapters.base import ProductAdapter
from runtime.adapters.registry import register
from runtime.adapters.results import BatchResult
from runtime.http import api_key_auth


@register("tms")
class TMSAdapter(ProductAdapter):
    """SKUs to POST {api_url}/skus/batch, authenticated by an `X-TMS-Token` header."""

    display_name = "TMS"
    id_field = "sku"

    def make_auth(self) -> httpx.Auth:
        """The `X-TMS-Token` header."""
        return api_key_auth("X-TMS-Token", self.credentials.api_key)

    def send(self, products: list[dict[str, Any]], result: BatchResult) -> None:
        """One bulk call; each SKU succeeds or fails with the TMS's message."""
        ids = [self.id_of(product) for product in products]
        outcomes = self.post_items(self.url("/skus/batch"), products, ids)
        for outcome in outcomes:
            if outcome.stored:
                result.succeed(outcome.id, outcome.status)
            else:
                self.record_failure(result, outcome)
