"""The WMS microservices (shared/contracts/wms.openapi.yaml).

Bearer auth. Items go to the inventory service (POST .../items/bulk), then
the stored items' locations to the warehouse service (POST .../locations).
Each service lives at its `service_endpoints` URL when the credentials name
one, else under `{api_url}/inventory` and `{api_url}/warehouse`; each may
fail on its own. Zones are listed once (GET .../zones), so a location with
a zone the WMS does not list fails that record with a clear reason instead
of a round trip: once per adapter, and once per run when the loader gives
the adapter the run's cache (a run loaded page by page opens one adapter
per page). The first adapter to need them keeps the zone ids there
(`runs/{c}/{run_id}/wms-zones.json`), the others read them from there
(runtime/adapters/run_cache.py; pages running at once may each list them
once). A zone list that is not the contract's shape, from the WMS or from
the cache, is refused (`check_zones`).
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

import httpx

from runtime.adapters.base import ProductAdapter
from runtime.adapters.registry import register
from runtime.adapters.results import BatchResult, ItemOutcome
from runtime.adapters.run_cache import read_once_per_run
from runtime.http import bearer_auth

ZONES_CACHE_NAME = "wms-zones"
"""The run's zone list in the run's cache: `{"data": [{"zone_id": ...}]}`, the contract's shape."""


def check_zones(body: Any) -> str | None:
    """Why a decoded body is not the contract's zone list, or None when it is."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return "the body has no `data` list"
    if not all(
        isinstance(zone, dict) and isinstance(zone.get("zone_id"), str) for zone in body["data"]
    ):
        return "a zone has no `zone_id`"
    return None


@register("wms")
class WMSAdapter(ProductAdapter):
    """Inventory items, then warehouse locations, each at its own service."""

    display_name = "WMS"
    id_field = "item_id"

    _zones: frozenset[str] | None = None

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self._zones_lock = threading.Lock()  # the loader's workers share one adapter

    def make_auth(self) -> httpx.Auth:
        """`Authorization: Bearer <api_key>`."""
        return bearer_auth(self.credentials.api_key)

    def service_url(self, service: str, path: str) -> str:
        """`path` under the service's own endpoint when the credentials name one, else under api_url."""
        endpoint = self.credentials.service_endpoints.get(service)
        if endpoint:
            return endpoint.rstrip("/") + path
        return self.url(f"/{service}{path}")

    def product_url(self, product_id: str) -> str | None:
        """GET .../items/{id} at the inventory service."""
        return self.service_url("inventory", f"/items/{quote(product_id, safe='')}")

    def listing_url(self) -> str | None:
        """GET .../items at the inventory service (paged by `page` and `limit`)."""
        return self.service_url("inventory", "/items")

    def probe_urls(self) -> dict[str, str]:
        """The inventory service's item listing and the warehouse service's zones."""
        return {
            "inventory": self.service_url("inventory", "/items"),
            "warehouse": self.service_url("warehouse", "/zones"),
        }

    def zones(self) -> frozenset[str]:
        """The zone ids the warehouse service lists: once per adapter (whatever its workers) and,
        with the run's cache, once per run."""
        with self._zones_lock:
            if self._zones is None:
                listed = read_once_per_run(
                    self.run_cache, ZONES_CACHE_NAME, self._listed_zones, check_zones
                )
                self._zones = frozenset(zone["zone_id"] for zone in listed["data"])
            return self._zones

    def _listed_zones(self) -> dict[str, Any]:
        """GET .../zones at the warehouse service, kept as the zone ids in the contract's shape."""
        body = self.api_client.call(
            "GET", self.service_url("warehouse", "/zones"), check=check_zones
        )
        return {"data": [{"zone_id": zone["zone_id"]} for zone in body["data"]]}

    def validate_product(self, product: dict[str, Any]) -> tuple[bool, str]:
        """An id, a name, a whole non-negative quantity and a location code (WMS needs one)."""
        ok, reason = super().validate_product(product)
        if not ok:
            return ok, reason
        if not isinstance(product.get("item_name"), str) or not product["item_name"]:
            return False, "missing item_name"
        quantity = product.get("available_quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            return False, f"available_quantity must be a whole number >= 0, got {quantity!r}"
        if not isinstance(product.get("location_code"), str) or not product["location_code"]:
            return False, "missing location_code (required for WMS)"
        zone = product.get("zone_id")
        if zone is not None and not isinstance(zone, str):
            return False, "zone_id must be a string"
        return True, ""

    def send(self, products: list[dict[str, Any]], result: BatchResult) -> None:
        """Items to the inventory service, then the stored items' locations to the warehouse."""
        ids = [self.id_of(product) for product in products]
        stored = self.post_items(self.service_url("inventory", "/items/bulk"), products, ids)
        to_locate: list[tuple[dict[str, Any], ItemOutcome]] = []
        for product, outcome in zip(products, stored, strict=True):
            if outcome.stored:
                to_locate.append((product, outcome))
            else:
                self.record_failure(result, outcome)
        needs_zones = any(product.get("zone_id") is not None for product, _ in to_locate)
        known = self.zones() if needs_zones else frozenset()
        locatable: list[tuple[dict[str, Any], ItemOutcome]] = []
        for product, outcome in to_locate:
            zone = product.get("zone_id")
            if zone is not None and zone not in known:
                listed = ", ".join(sorted(known)) or "none"
                result.fail(
                    outcome.id,
                    f"item stored, but its zone {zone!r} is not a zone the WMS lists (listed: {listed})",
                )
            else:
                locatable.append((product, outcome))
        if not locatable:
            return
        locations = [
            {"item_id": o.id, "location_code": p["location_code"], "zone_id": p.get("zone_id")}
            for p, o in locatable
        ]
        placed = self.post_items(
            self.service_url("warehouse", "/locations"), locations, [o.id for _, o in locatable]
        )
        for (product, outcome), location in zip(locatable, placed, strict=True):
            if location.stored:
                result.succeed(outcome.id, outcome.status)
            else:
                context = f"item stored, but location {product['location_code']} was refused: "
                self.record_failure(result, location, context)
