"""Kong, the RFID backend (shared/contracts/kong.openapi.yaml).

X-API-Key auth. Products go to POST /products/bulk; then the stored products
that carry an `rfid_tag_id` have their tags associated by POST /rfid/tags. A
tag the product refuses (e.g. bound to another product) fails that record.
Tag association can be switched off per client with
`additional_config.rfid_enabled: false`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from runtime.adapters.base import ProductAdapter
from runtime.adapters.registry import register
from runtime.adapters.results import BatchResult, ItemOutcome
from runtime.http import api_key_auth


@register("kong")
class KongAdapter(ProductAdapter):
    """Bulk upserts of products, then RFID tag associations."""

    display_name = "Kong"
    id_field = "product_id"

    def make_auth(self) -> httpx.Auth:
        """The `X-API-Key` header."""
        return api_key_auth("X-API-Key", self.credentials.api_key)

    def product_url(self, product_id: str) -> str | None:
        """GET /products/{id}."""
        return self.url(f"/products/{quote(product_id, safe='')}")

    def listing_url(self) -> str | None:
        """GET /products (paged by `page` and `limit`)."""
        return self.url("/products")

    @property
    def rfid_enabled(self) -> bool:
        """Whether tags are associated (the credentials' `additional_config.rfid_enabled`)."""
        return bool(self.credentials.additional_config.get("rfid_enabled", True))

    def validate_product(self, product: dict[str, Any]) -> tuple[bool, str]:
        """An id, a name and a whole, non-negative quantity (the contract's required fields)."""
        ok, reason = super().validate_product(product)
        if not ok:
            return ok, reason
        if not isinstance(product.get("name"), str) or not product["name"]:
            return False, "missing name"
        quantity = product.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            return False, f"quantity must be a whole number >= 0, got {quantity!r}"
        tag = product.get("rfid_tag_id")
        if tag is not None and not isinstance(tag, str):
            return False, "rfid_tag_id must be a string"
        return True, ""

    def send(self, products: list[dict[str, Any]], result: BatchResult) -> None:
        """POST /products/bulk, then POST /rfid/tags for the stored products with a tag."""
        ids = [self.id_of(product) for product in products]
        stored = self.post_items(self.url("/products/bulk"), products, ids)
        to_tag: list[tuple[dict[str, Any], ItemOutcome]] = []
        for product, outcome in zip(products, stored, strict=True):
            if not outcome.stored:
                self.record_failure(result, outcome)
            elif self.rfid_enabled and product.get("rfid_tag_id"):
                to_tag.append((product, outcome))
            else:
                result.succeed(outcome.id, outcome.status)
        if not to_tag:
            return
        tags = [{"product_id": o.id, "rfid_tag_id": p["rfid_tag_id"]} for p, o in to_tag]
        tagged = self.post_items(self.url("/rfid/tags"), tags, [o.id for _, o in to_tag])
        for (product, outcome), tag in zip(to_tag, tagged, strict=True):
            if tag.stored:
                result.succeed(outcome.id, outcome.status)
            else:
                context = f"product stored, but RFID tag {product['rfid_tag_id']} was refused: "
                self.record_failure(result, tag, context)
