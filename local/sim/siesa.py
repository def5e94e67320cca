"""The Siesa ERP simulator, REST dialect (contracts/siesa.openapi.yaml).

GET {base}/api/v1/inventory/products, /inventory/products/{id} and
/inventory/stock over a `Catalog` (POST /_sim/stock raises some items' stock), with bearer auth, the 100 requests/minute
per key sliding-window limit (429 + Retry-After in whole seconds), 400 on bad
parameters, and the fault knobs of `faults.py`. A client's `siesa_api_url` is
`{server.url}/api/v1`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from local.sim.catalog import (
    ERP_OFFSET,
    Catalog,
    parse_erp_timestamp,
    parse_modified_since,
)
from local.sim.faults import FaultInjector, with_faults
from local.sim.flask_common import (
    create_app,
    error_response,
    install_guard,
    sim_blueprint,
)
from local.sim.keys import KeyRing
from local.sim.paging import BadParameter, requested_page
from local.sim.ratelimit import optional_limiter
from local.sim.requestlog import RequestLog, log_requests

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

BASE_PATH = "/api/v1"
DEFAULT_SIESA_API_KEY = "siesa-local-key"
DEFAULT_RATE_LIMIT = 100
DEFAULT_RATE_WINDOW_S = 60.0


def _text_param(name: str) -> str | None:
    raw = request.args.get(name)
    return raw if raw is not None and raw.strip() else None


class SiesaSim:
    """One client's ERP: a catalog served over the REST dialect.

    `wsgi_app` is what a `SimServer` runs. `api_keys` are the bearer tokens it
    accepts; `revoke(key)` withdraws one at run time. `clock` drives the rate
    limiter (inject one to test the window without waiting).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        api_keys: Iterable[str] | str = DEFAULT_SIESA_API_KEY,
        rate_limit: int | None = DEFAULT_RATE_LIMIT,
        rate_window_s: float = DEFAULT_RATE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        faults: FaultInjector | None = None,
    ) -> None:
        self.catalog = catalog
        self.faults = faults if faults is not None else FaultInjector()
        self.log = RequestLog()
        self.limiter = optional_limiter(rate_limit, rate_window_s, clock)
        self.keys = KeyRing(
            api_keys if isinstance(api_keys, str) else dict.fromkeys(api_keys, catalog.client),
            tenant=catalog.client,
        )
        self.flask_app = self._build_app()
        self.wsgi_app: WSGIApplication = log_requests(
            with_faults(self.flask_app.wsgi_app, self.faults), self.log, service="siesa"
        )

    # --- run-time control --------------------------------------------------------

    def revoke(self, api_key: str) -> None:
        """Stop accepting a key (a credential revoked mid-run)."""
        self.keys.revoke(api_key)

    def add_key(self, api_key: str) -> None:
        """Accept another key."""
        self.keys.add(api_key, self.catalog.client)

    def state(self) -> dict[str, Any]:
        """Everything the simulator holds (GET /_sim/state); never the keys."""
        return {
            "service": "siesa",
            "dialect": "rest",
            "catalog": self.catalog.snapshot(),
            "faults": self.faults.snapshot(),
            "rate_limit": {
                "limit": self.limiter.limit if self.limiter else None,
                "window_s": self.limiter.window_s if self.limiter else None,
            },
        }

    def change_stock(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /_sim/stock: raise the stock of `count` valid items (or of `ids`), nothing else.

        `{"count": 200}` picks items spread over the catalog; `"warehouse"` and
        `"by"` go to `Catalog.change_stock`. Their modification time stays: a
        stock-only sync must catch them, an incremental one does not.
        """
        ids = body.get("ids")
        if not isinstance(ids, list):
            valid = [code for code in self.catalog.ids() if code not in self.catalog.invalid]
            count = max(0, min(int(body.get("count") or 0), len(valid)))
            step = max(1, len(valid) // count) if count else 1
            ids = valid[::step][:count]
        return self.catalog.change_stock(
            [str(code) for code in ids], warehouse=body.get("warehouse"), by=body.get("by")
        )

    # --- HTTP --------------------------------------------------------------------

    def _injector(self, service: str | None) -> FaultInjector:
        if service not in (None, "siesa"):
            raise KeyError(f"this simulator serves only 'siesa', not {service!r}")
        return self.faults

    def _move_a_record(self, page_data: list[dict[str, Any]], page: int) -> None:
        """The "record changed while a client pages" fault: move page `page`'s first record last."""
        if not page_data:
            return
        code = str(page_data[0]["f_codigo"]).strip()
        newest = self.catalog.records()[-1]["f_fecha_modificacion"]
        now = datetime.now(ERP_OFFSET).replace(tzinfo=None, microsecond=0)
        later = max(now, parse_erp_timestamp(newest).replace(tzinfo=None) + timedelta(seconds=1))
        (moved,) = self.catalog.modify([code], now=later)
        self.faults.record_event(
            {
                "fault": "move_record",
                "after_page": page,
                "id": code,
                "f_fecha_modificacion": moved["f_fecha_modificacion"],
            }
        )

    def _build_app(self) -> Flask:
        app = create_app("siesa-sim")

        install_guard(app, self.keys, scheme="Bearer", limiter=self.limiter)

        @app.get(f"{BASE_PATH}/inventory/products")
        def _list_products() -> Response:
            page, limit = requested_page()
            since_text = _text_param("modified_since")
            try:
                since = parse_modified_since(since_text) if since_text is not None else None
            except ValueError as exc:
                raise BadParameter(str(exc)) from None
            result = self.catalog.page(page, limit, since)
            if self.faults.take_move_after_page(page):
                self._move_a_record(result.data, page)
            return jsonify(result.as_json())

        @app.get(f"{BASE_PATH}/inventory/products/<path:item_id>")
        def _get_product(item_id: str) -> Response:
            record = self.catalog.get(item_id)
            if record is None:
                return error_response(404, "not found", f"no product with f_codigo {item_id!r}")
            return jsonify(record)

        @app.get(f"{BASE_PATH}/inventory/stock")
        def _list_stock() -> Response:
            page, limit = requested_page()
            result = self.catalog.stock_page(
                page,
                limit,
                warehouse_id=_text_param("warehouse_id"),
                product_id=_text_param("product_id"),
            )
            return jsonify(result.as_json())

        @app.post("/_sim/stock")
        def _change_stock() -> Response:
            return jsonify({"changed": self.change_stock(request.get_json(silent=True) or {})})

        app.register_blueprint(sim_blueprint(self.state, self.log, self._injector, service="siesa"))
        return app
