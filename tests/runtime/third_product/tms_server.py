"""A minimal TMS on loopback: POST /api/v1/skus/batch with per-item results (the products' bulk shape)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SKU = re.compile(r"[A-Za-z0-9._-]{1,64}")


class TmsApp:
    """Stores SKUs by `sku`; refuses a bad item on its own, a bad token with 401."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.skus: dict[str, dict[str, Any]] = {}
        self.requests: list[list[dict[str, Any]]] = []

    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path != "/api/v1/skus/batch" or request.method != "POST":
            status, body = 404, {"error": "not found"}
        elif request.headers.get("X-TMS-Token") != self.token:
            status, body = 401, {"error": "bad token"}
        else:
            items = request.get_json(silent=True)
            if not isinstance(items, list) or not 1 <= len(items) <= 100:
                status, body = 400, {"error": "body must be an array of 1..100 SKUs"}
            else:
                self.requests.append(items)
                status, body = 200, {"results": [self._upsert(item) for item in items]}
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def _upsert(self, item: dict[str, Any]) -> dict[str, Any]:
        sku = item.get("sku")
        if not isinstance(sku, str) or not SKU.fullmatch(sku):
            return {"id": str(sku), "status": "error", "error": "sku is invalid"}
        if not isinstance(item.get("units"), int) or item["units"] < 0:
            return {"id": sku, "status": "error", "error": "units must be an integer >= 0"}
        if item.get("weight_kg") is not None and float(item["weight_kg"]) > 1000:
            return {"id": sku, "status": "error", "error": "weight_kg over the 1000 kg limit"}
        status = (
            "created"
            if sku not in self.skus
            else ("unchanged" if self.skus[sku] == item else "updated")
        )
        self.skus[sku] = item
        return {"id": sku, "status": status}


@contextmanager
def tms_server(token: str) -> Iterator[tuple[TmsApp, str]]:
    """The TMS on 127.0.0.1 at an ephemeral port; yields the app and its api_url."""
    app = TmsApp(token)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}/api/v1"
    finally:
        server.shutdown()
        server.server_close()
