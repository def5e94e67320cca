"""The Kong (RFID backend) simulator (contracts/kong.openapi.yaml).

POST /api/v1/products/bulk and /api/v1/products (per-item upserts), GET
/api/v1/products (the paged listing, in product_id order), GET/PUT
/api/v1/products/{id}, POST /api/v1/rfid/tags, with X-API-Key auth. Each key
reaches one tenant's store. Writes are upserts by `product_id` answering
created / updated / unchanged, or error with the broken rule; a tag bound to
another product is an item error. A client's `product_api_url` is
`{server.url}/api/v1`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flask import Flask, Response, jsonify

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
from local.sim.ratelimit import optional_limiter
from local.sim.requestlog import RequestLog, log_requests
from local.sim.rules import item_key, kong_product_error, rfid_error

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

BASE_PATH = "/api/v1"
DEFAULT_KONG_API_KEY = "kong-local-key"

ItemStatus = Literal["created", "updated", "unchanged", "error"]


def _result(item_id: str, status: ItemStatus, error: str | None = None) -> dict[str, str]:
    result = {"id": item_id, "status": status}
    if error is not None:
        result["error"] = error
    return result


def stored_product(item: Mapping[str, Any]) -> dict[str, Any]:
    """A valid item as Kong keeps it: every field present, optional ones null or {}."""
    return {
        "product_id": item["product_id"],
        "external_reference": item["external_reference"],
        "name": item["name"],
        "barcode": item.get("barcode"),
        "quantity": item["quantity"],
        "rfid_tag_id": item.get("rfid_tag_id"),
        "attributes": dict(item.get("attributes") or {}),
    }


@dataclass
class KongTenant:
    """One tenant's products and the tag -> product bindings."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def tag_conflict(self, product_id: str, tag: str | None) -> str | None:
        """The error when `tag` is already bound to another product, else None."""
        if tag is None:
            return None
        owner = self.tags.get(tag)
        if owner is not None and owner != product_id:
            return f"rfid_tag_id {tag} is already bound to product {owner}"
        return None

    def bind(self, product_id: str, tag: str | None) -> None:
        """Point the product at `tag`, releasing the tag it held before."""
        previous = self.products[product_id].get("rfid_tag_id")
        if previous is not None and self.tags.get(previous) == product_id:
            del self.tags[previous]
        self.products[product_id]["rfid_tag_id"] = tag
        if tag is not None:
            self.tags[tag] = product_id

    def upsert(self, item: object) -> dict[str, str]:
        """Validate and store one item; the per-item result."""
        product_id = item_key(item, "product_id")
        error = kong_product_error(item)
        if error is not None:
            return _result(product_id, "error", error)
        assert isinstance(item, dict)
        new = stored_product(item)
        conflict = self.tag_conflict(product_id, new["rfid_tag_id"])
        if conflict is not None:
            return _result(product_id, "error", conflict)
        old = self.products.get(product_id)
        if old == new:
            return _result(product_id, "unchanged")
        self.products[product_id] = {**new, "rfid_tag_id": old["rfid_tag_id"] if old else None}
        self.bind(product_id, new["rfid_tag_id"])
        return _result(product_id, "created" if old is None else "updated")

    def associate(self, item: object) -> dict[str, str]:
        """Bind one tag to a stored product; the per-item result."""
        product_id = item_key(item, "product_id")
        if not isinstance(item, dict):
            return _result(product_id, "error", "item must be a JSON object")
        if not product_id:
            return _result(product_id, "error", "product_id is required and must be a string")
        tag = item.get("rfid_tag_id")
        if tag is None:
            return _result(product_id, "error", "rfid_tag_id is required")
        error = rfid_error(tag)
        if error is not None:
            return _result(product_id, "error", error)
        product = self.products.get(product_id)
        if product is None:
            return _result(product_id, "error", f"product {product_id} does not exist")
        conflict = self.tag_conflict(product_id, tag)
        if conflict is not None:
            return _result(product_id, "error", conflict)
        current = product.get("rfid_tag_id")
        if current == tag:
            return _result(product_id, "unchanged")
        self.bind(product_id, tag)
        return _result(product_id, "created" if current is None else "updated")


class KongSim:
    """Kong's product API over per-tenant in-memory stores.

    `api_keys` maps each accepted X-API-Key to its tenant (a single string key
    reaches the tenant named `tenant`). No rate limit unless `rate_limit` is set;
    429s are otherwise injected with the fault knobs.
    """

    def __init__(
        self,
        *,
        api_keys: Mapping[str, str] | str = DEFAULT_KONG_API_KEY,
        tenant: str = DEFAULT_TENANT,
        rate_limit: int | None = None,
        rate_window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        faults: FaultInjector | None = None,
    ) -> None:
        self.keys = KeyRing(api_keys, tenant=tenant)
        self.faults = faults if faults is not None else FaultInjector()
        self.log = RequestLog()
        self.limiter = optional_limiter(rate_limit, rate_window_s, clock)
        self._tenants: dict[str, KongTenant] = {}
        self._lock = threading.Lock()
        self.flask_app = self._build_app()
        self.wsgi_app: WSGIApplication = log_requests(
            with_faults(self.flask_app.wsgi_app, self.faults), self.log, service="kong"
        )

    def tenant(self, name: str = DEFAULT_TENANT) -> KongTenant:
        """A tenant's store (created empty on first use)."""
        with self._lock:
            return self._tenants.setdefault(name, KongTenant())

    def products(self, tenant: str = DEFAULT_TENANT) -> dict[str, dict[str, Any]]:
        """Copies of a tenant's stored products by product_id."""
        with self._lock:
            store = self._tenants.get(tenant, KongTenant())
            return {k: dict(v) for k, v in store.products.items()}

    def state(self) -> dict[str, Any]:
        """Everything Kong holds, per tenant (GET /_sim/state); never the keys."""
        with self._lock:
            tenants = {
                name: {
                    "products": {k: dict(v) for k, v in store.products.items()},
                    "tags": dict(store.tags),
                }
                for name, store in self._tenants.items()
            }
        return {"service": "kong", "tenants": tenants, "faults": self.faults.snapshot()}

    def _injector(self, service: str | None) -> FaultInjector:
        if service not in (None, "kong"):
            raise KeyError(f"this simulator serves only 'kong', not {service!r}")
        return self.faults

    def _bulk(self, write: Callable[[KongTenant, object], dict[str, str]]) -> Response:
        items = read_bulk_body()
        store = self.tenant(current_tenant())
        with self._lock:
            results = [write(store, item) for item in items]
        return jsonify({"results": results})

    def _build_app(self) -> Flask:
        app = create_app("kong-sim")
        install_guard(app, self.keys, scheme="X-API-Key", limiter=self.limiter)

        @app.post(f"{BASE_PATH}/products/bulk")
        def _bulk_upsert() -> Response:
            return self._bulk(KongTenant.upsert)

        @app.post(f"{BASE_PATH}/products")
        def _create() -> Response:
            return self._bulk(KongTenant.upsert)

        @app.post(f"{BASE_PATH}/rfid/tags")
        def _tags() -> Response:
            return self._bulk(KongTenant.associate)

        @app.get(f"{BASE_PATH}/products")
        def _list() -> Response:
            products = self.products(current_tenant())
            return jsonify(page_of([products[key] for key in sorted(products)]))

        @app.get(f"{BASE_PATH}/products/<path:product_id>")
        def _get(product_id: str) -> Response:
            product = self.products(current_tenant()).get(product_id)
            if product is None:
                return error_response(404, "not found", f"no product {product_id}")
            return jsonify(product)

        @app.put(f"{BASE_PATH}/products/<path:product_id>")
        def _put(product_id: str) -> Response:
            body = read_json_body()
            if not isinstance(body, dict):
                raise BadRequestBody("the body must be a JSON object (one product)")
            if body.get("product_id", product_id) != product_id:
                return error_response(
                    400, "bad request", "product_id in the body differs from the path"
                )
            item = {**body, "product_id": product_id}
            store = self.tenant(current_tenant())
            with self._lock:
                if product_id not in store.products:
                    return error_response(404, "not found", f"no product {product_id}")
                result = store.upsert(item)
                if result["status"] == "error":
                    return error_response(400, "validation error", result["error"])
                return jsonify(dict(store.products[product_id]))

        app.register_blueprint(sim_blueprint(self.state, self.log, self._injector, service="kong"))
        return app
