"""The WMS (microservices) simulator (contracts/wms.openapi.yaml).

Two services over one store per tenant:
- inventory: POST /items/bulk, POST /items, GET /items (the paged listing, in
  item_id order), GET/PUT /items/{id}
- warehouse: POST /locations, GET /zones
Each service is its own WSGI app (`inventory_app`, `warehouse_app`), so each can
run on its own server and fail on its own (per-service fault injectors), which
is what a client's `service_endpoints.inventory` / `.warehouse` point at.
`combined_app` mounts both under /api/v1/inventory/... and /api/v1/warehouse/...
for a client without service_endpoints (its `product_api_url` is
`{server.url}/api/v1`). Bearer auth; each key reaches one tenant.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flask import Flask, Response, jsonify
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from local.sim.faults import FaultInjector, with_faults
from local.sim.flask_common import (
    BadRequestBody,
    create_app,
    current_tenant,
    error_response,
    install_guard,
    read_bulk_body,
    read_json_body,
    sim_blueprint,
)
from local.sim.keys import DEFAULT_TENANT, KeyRing
from local.sim.paging import page_of
from local.sim.ratelimit import SlidingWindowLimiter
from local.sim.requestlog import RequestLog, log_requests
from local.sim.rules import item_key, wms_item_error, wms_location_error, wms_zone_error

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

BASE_PATH = "/api/v1"
DEFAULT_WMS_API_KEY = "wms-local-key"
SERVICES = ("inventory", "warehouse")
Service = Literal["inventory", "warehouse"]
DEFAULT_ZONES: dict[str, str] = {
    "ZONE-A": "Zona A - Ropa",
    "ZONE-B": "Zona B - Calzado",
    "ZONE-C": "Zona C - Accesorios",
    "ZONE-D": "Zona D - Ropa Deportiva",
}


def _result(item_id: str, status: str, error: str | None = None) -> dict[str, str]:
    result = {"id": item_id, "status": status}
    if error is not None:
        result["error"] = error
    return result


def stored_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A valid item as the WMS keeps it: every field present, optional ones null or {}."""
    return {
        "item_id": item["item_id"],
        "external_item_code": item["external_item_code"],
        "item_name": item["item_name"],
        "ean_code": item.get("ean_code"),
        "available_quantity": item["available_quantity"],
        "location_code": item["location_code"],
        "zone_id": item.get("zone_id"),
        "attributes": dict(item.get("attributes") or {}),
    }


@dataclass
class WmsTenant:
    """One tenant's items, shared by the inventory and warehouse services."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def upsert(self, item: object, zones: Mapping[str, str]) -> dict[str, str]:
        """Validate and store one item; the per-item result."""
        item_id = item_key(item, "item_id")
        error = wms_item_error(item, zones)
        if error is not None:
            return _result(item_id, "error", error)
        assert isinstance(item, dict)
        new = stored_item(item)
        old = self.items.get(item_id)
        if old == new:
            return _result(item_id, "unchanged")
        self.items[item_id] = new
        return _result(item_id, "created" if old is None else "updated")

    def assign_location(self, item: object, zones: Mapping[str, str]) -> dict[str, str]:
        """Move one stored item to a location (and zone); the per-item result."""
        item_id = item_key(item, "item_id")
        if not isinstance(item, dict):
            return _result(item_id, "error", "item must be a JSON object")
        if not item_id:
            return _result(item_id, "error", "item_id is required and must be a string")
        stored = self.items.get(item_id)
        if stored is None:
            return _result(item_id, "error", f"item {item_id} does not exist")
        error = wms_location_error(item.get("location_code"))
        if error is None and "zone_id" in item:
            error = wms_zone_error(item["zone_id"], zones)
        if error is not None:
            return _result(item_id, "error", error)
        zone = item["zone_id"] if "zone_id" in item else stored["zone_id"]
        if (stored["location_code"], stored["zone_id"]) == (item["location_code"], zone):
            return _result(item_id, "unchanged")
        stored["location_code"], stored["zone_id"] = item["location_code"], zone
        return _result(item_id, "updated")


class WmsSim:
    """The WMS inventory and warehouse services over per-tenant stores.

    `faults["inventory"]` and `faults["warehouse"]` are separate injectors; the
    request log is shared and labels each entry with its service.
    """

    def __init__(
        self,
        *,
        api_keys: Mapping[str, str] | str = DEFAULT_WMS_API_KEY,
        tenant: str = DEFAULT_TENANT,
        zones: Mapping[str, str] | None = None,
        rate_limit: int | None = None,
        rate_window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        faults: Mapping[str, FaultInjector] | None = None,
    ) -> None:
        self.keys = KeyRing(api_keys, tenant=tenant)
        self.zones = dict(DEFAULT_ZONES if zones is None else zones)
        self.faults: dict[str, FaultInjector] = {
            name: (faults or {}).get(name) or FaultInjector() for name in SERVICES
        }
        self.log = RequestLog()
        self._limiters = {
            name: SlidingWindowLimiter(rate_limit, rate_window_s, clock) if rate_limit else None
            for name in SERVICES
        }
        self._tenants: dict[str, WmsTenant] = {}
        self._lock = threading.Lock()
        self.inventory_app: WSGIApplication = self._service_wsgi("inventory")
        self.warehouse_app: WSGIApplication = self._service_wsgi("warehouse")
        self.combined_app: WSGIApplication = DispatcherMiddleware(
            self._root_app().wsgi_app,
            {
                f"{BASE_PATH}/inventory": self.inventory_app,
                f"{BASE_PATH}/warehouse": self.warehouse_app,
            },
        )

    # --- read-back -----------------------------------------------------------------

    def tenant(self, name: str = DEFAULT_TENANT) -> WmsTenant:
        """A tenant's store (created empty on first use)."""
        with self._lock:
            return self._tenants.setdefault(name, WmsTenant())

    def items(self, tenant: str = DEFAULT_TENANT) -> dict[str, dict[str, Any]]:
        """Copies of a tenant's stored items by item_id."""
        with self._lock:
            store = self._tenants.get(tenant, WmsTenant())
            return {k: dict(v) for k, v in store.items.items()}

    def state(self) -> dict[str, Any]:
        """Everything the WMS holds, per tenant, and each service's faults; never the keys."""
        with self._lock:
            tenants = {
                name: {"items": {k: dict(v) for k, v in store.items.items()}}
                for name, store in self._tenants.items()
            }
        return {
            "service": "wms",
            "zones": dict(self.zones),
            "tenants": tenants,
            "faults": {name: injector.snapshot() for name, injector in self.faults.items()},
        }

    # --- HTTP ----------------------------------------------------------------------

    def _injector_for(self, own: str | None) -> Callable[[str | None], FaultInjector]:
        def pick(service: str | None) -> FaultInjector:
            name = service or own
            if name not in self.faults:
                raise KeyError(f"name a service: {' or '.join(SERVICES)} (got {service!r})")
            return self.faults[name]

        return pick

    def _service_wsgi(self, service: Service) -> WSGIApplication:
        app = self._inventory() if service == "inventory" else self._warehouse()
        install_guard(app, self.keys, scheme="Bearer", limiter=self._limiters[service])
        app.register_blueprint(
            sim_blueprint(self.state, self.log, self._injector_for(service), service=service)
        )
        return log_requests(with_faults(app.wsgi_app, self.faults[service]), self.log, service)

    def _root_app(self) -> Flask:
        app = create_app("wms-sim")
        app.register_blueprint(sim_blueprint(self.state, self.log, self._injector_for(None)))
        return app

    def _bulk(
        self, write: Callable[[WmsTenant, object, Mapping[str, str]], dict[str, str]]
    ) -> Response:
        items = read_bulk_body()
        store = self.tenant(current_tenant())
        with self._lock:
            results = [write(store, item, self.zones) for item in items]
        return jsonify({"results": results})

    def _inventory(self) -> Flask:
        app = create_app("wms-inventory-sim")

        @app.post("/items/bulk")
        def _bulk_upsert() -> Response:
            return self._bulk(WmsTenant.upsert)

        @app.post("/items")
        def _create() -> Response:
            return self._bulk(WmsTenant.upsert)

        @app.get("/items")
        def _list() -> Response:
            items = self.items(current_tenant())
            return jsonify(page_of([items[key] for key in sorted(items)]))

        @app.get("/items/<path:item_id>")
        def _get(item_id: str) -> Response:
            item = self.items(current_tenant()).get(item_id)
            if item is None:
                return error_response(404, "not found", f"no item {item_id}")
            return jsonify(item)

        @app.put("/items/<path:item_id>")
        def _put(item_id: str) -> Response:
            body = read_json_body()
            if not isinstance(body, dict):
                raise BadRequestBody("the body must be a JSON object (one item)")
            if body.get("item_id", item_id) != item_id:
                return error_response(
                    400, "bad request", "item_id in the body differs from the path"
                )
            store = self.tenant(current_tenant())
            with self._lock:
                if item_id not in store.items:
                    return error_response(404, "not found", f"no item {item_id}")
                result = store.upsert({**body, "item_id": item_id}, self.zones)
                if result["status"] == "error":
                    return error_response(400, "validation error", result["error"])
                return jsonify(dict(store.items[item_id]))

        return app

    def _warehouse(self) -> Flask:
        app = create_app("wms-warehouse-sim")

        @app.post("/locations")
        def _locations() -> Response:
            return self._bulk(WmsTenant.assign_location)

        @app.get("/zones")
        def _zones() -> Response:
            return jsonify(
                {
                    "data": [
                        {"zone_id": zone, "name": name} for zone, name in sorted(self.zones.items())
                    ]
                }
            )

        return app
