"""Loopback servers and a fake clock for the HTTP tests (Siesa client, product adapters).

Real sockets on 127.0.0.1, ephemeral ports. `ScriptedApp` answers each route
from a queue of exact replies (for scenarios that need exact control: a 429
with an HTTP-date, a 400 for a whole batch); `SiesaCatalogApp` and
`ProductStoreApp` follow the contracts closely enough to page a catalog and
upsert products; `raw_server` drops connections or never answers.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from runtime.http import SlidingWindowBudget

logging.getLogger("werkzeug").setLevel(logging.ERROR)

BOGOTA = ZoneInfo("America/Bogota")


@dataclass
class Reply:
    """One scripted answer: status, a JSON body (or raw str/bytes), headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> Response:
        if isinstance(self.body, bytes | str):
            data = self.body
        else:
            data = json.dumps({} if self.body is None else self.body)
        return Response(
            data, status=self.status, headers=self.headers, content_type="application/json"
        )


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: Any


Handler = Callable[[Request], Reply]


class ScriptedApp:
    """A WSGI app: per (method, path), scripted replies first, then a handler, else 404."""

    def __init__(self) -> None:
        self.queues: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self.handlers: dict[tuple[str, str], Handler] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Answer the next requests to `method path` with these replies, in order."""
        self.queues[(method, path)].extend(replies)

    def handle(self, method: str, path: str, handler: Handler) -> None:
        """Answer `method path` with `handler` once its script is used up."""
        self.handlers[(method, path)] = handler

    def requests_to(self, method: str, path: str) -> list[Seen]:
        """Every request received for `method path`."""
        return [seen for seen in self.seen if seen.method == method and seen.path == path]

    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data()
        try:
            decoded = json.loads(body) if body else None
        except ValueError:
            decoded = body
        with self._lock:
            self.seen.append(
                Seen(
                    request.method, request.path, dict(request.args), dict(request.headers), decoded
                )
            )
            key = (request.method, request.path)
            queue = self.queues.get(key)
            reply = queue.popleft() if queue else None
        if reply is None:
            handler = self.handlers.get(key)
            reply = handler(request) if handler else Reply(404, {"error": f"no route {key}"})
        return reply.to_response()(environ, start_response)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run a WSGI app on 127.0.0.1:0 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def raw_server(*actions: str | bytes) -> Iterator[str]:
    """A TCP server that treats connection N with actions[N] (the last repeats).

    "drop": read the request, then close without answering; "silent": read it
    and never answer (until the server stops); bytes: send them as the whole
    HTTP response, then close.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def run() -> None:
        served = 0
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            action = actions[min(served, len(actions) - 1)]
            served += 1
            conn.settimeout(2.0)
            with suppress(OSError):
                conn.recv(65536)
            if action == "silent":
                held.append(conn)
                continue
            if isinstance(action, bytes):
                conn.sendall(action)
            conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def http_response(status: int, body: Any, headers: dict[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 response with Connection: close, for `raw_server`."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [
        f"HTTP/1.1 {status} X",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class FakeClock:
    """A monotonic clock that moves only when something sleeps on it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


def quiet_budget(limit: int | None = 100) -> SlidingWindowBudget:
    """A request budget of its own on a fake clock: never shared, never waits for real.

    A 429's pause is waited on the fake clock, so a test with a long Retry-After is instant.
    """
    clock = FakeClock()
    return SlidingWindowBudget(limit, 60.0, clock=clock, sleep=clock.sleep)


class Sleeps:
    """A sleeper that records and does not wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


# --- a Siesa REST catalog ------------------------------------------------------------


def siesa_records(count: int, *, start: datetime | None = None) -> list[dict[str, Any]]:
    """`count` ERP records, one minute apart, codes padded as the ERP stores them."""
    first = start or datetime(2025, 1, 1, 8, 0, 0)
    return [
        {
            "f_codigo": f" P{n:05d} ",
            "f_nombre": f"Producto {n}  ",
            "f_cantidad": str(n % 50),
            "f_fecha_modificacion": (first + timedelta(minutes=n)).strftime("%Y-%m-%d %H:%M:%S"),
        }
        for n in range(count)
    ]


class SiesaCatalogApp(ScriptedApp):
    """GET /api/v1/inventory/products per siesa.openapi.yaml, over a fixed list of records."""

    PATH = "/api/v1/inventory/products"

    def __init__(self, records: list[dict[str, Any]], token: str) -> None:
        super().__init__()
        self.records = sorted(records, key=lambda r: (r["f_fecha_modificacion"], r["f_codigo"]))
        self.token = token
        self.handle("GET", self.PATH, self._page)

    def _page(self, request: Request) -> Reply:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": "invalid token"})
        page = int(request.args.get("page", 1))
        limit = int(request.args.get("limit", 100))
        if not 1 <= limit <= 1000 or page < 1:
            return Reply(400, {"error": "bad paging"})
        chosen = self.records
        since = request.args.get("modified_since")
        if since:
            moment = datetime.fromisoformat(since)
            if moment.tzinfo is None:
                return Reply(400, {"error": "modified_since needs an offset"})
            chosen = [
                r
                for r in chosen
                if datetime.strptime(r["f_fecha_modificacion"], "%Y-%m-%d %H:%M:%S").replace(
                    tzinfo=BOGOTA
                )
                >= moment
            ]
        total_pages = -(-len(chosen) // limit)
        data = chosen[(page - 1) * limit : page * limit]
        pagination = {
            "page": page,
            "limit": limit,
            "total_records": len(chosen),
            "total_pages": total_pages,
        }
        return Reply(200, {"data": data, "pagination": pagination}, {"X-RateLimit-Remaining": "99"})


# --- a product store (Kong / WMS shaped) --------------------------------------------

EAN13 = re.compile(r"[0-9]{13}")
PRODUCT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LOCATION = re.compile(r"[A-Z][0-9]{4}")
TAG = re.compile(r"[0-9A-F]{16,32}")


def ean13_ok(code: str) -> bool:
    """A valid EAN-13 check digit."""
    if not EAN13.fullmatch(code):
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


class ProductStoreApp(ScriptedApp):
    """Upserting bulk endpoints with per-item validation, as kong/wms.openapi.yaml describe.

    `routes` maps the bulk path to (id key, name key, quantity key, barcode key);
    tags (Kong) and locations/zones (WMS) are served at the paths given.
    """

    def __init__(
        self,
        *,
        auth: tuple[str, str],
        bulk_path: str,
        keys: tuple[str, str, str, str],
        tags_path: str | None = None,
        locations_path: str | None = None,
        zones_path: str | None = None,
        zones: Iterable[str] = (),
    ) -> None:
        super().__init__()
        self.auth = auth
        self.keys = keys
        self.stored: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, str] = {}
        self.locations: dict[str, str] = {}
        self.zones = list(zones)
        self.handle("POST", bulk_path, self._guard(self._bulk))
        if tags_path:
            self.handle("POST", tags_path, self._guard(self._tags))
        if locations_path:
            self.handle("POST", locations_path, self._guard(self._locations))
        if zones_path:
            self.handle("GET", zones_path, self._guard(self._zones))

    def _guard(self, handler: Handler) -> Handler:
        def guarded(request: Request) -> Reply:
            header, value = self.auth
            if request.headers.get(header) != value:
                return Reply(401, {"error": "invalid credentials"})
            if request.method == "POST":
                body = request.get_json(silent=True)
                if not isinstance(body, list) or not body or len(body) > 100:
                    return Reply(400, {"error": "body must be an array of 1..100 items"})
            return handler(request)

        return guarded

    def _bulk(self, request: Request) -> Reply:
        id_key, name_key, quantity_key, barcode_key = self.keys
        results = []
        for item in request.get_json():
            item_id = item.get(id_key)
            error = None
            if not isinstance(item_id, str) or not PRODUCT_ID.fullmatch(item_id):
                error = f"{id_key} is invalid"
            elif not isinstance(item.get(name_key), str) or not 1 <= len(item[name_key]) <= 200:
                error = f"{name_key} must be 1..200 characters"
            elif not isinstance(item.get(quantity_key), int) or item[quantity_key] < 0:
                error = f"{quantity_key} must be an integer >= 0"
            elif item.get(barcode_key) is not None and not ean13_ok(item[barcode_key]):
                error = "Invalid EAN format"
            if error:
                results.append({"id": str(item_id), "status": "error", "error": error})
                continue
            previous = self.stored.get(item_id)
            status = (
                "created" if previous is None else ("unchanged" if previous == item else "updated")
            )
            self.stored[item_id] = item
            results.append({"id": item_id, "status": status})
        return Reply(200, {"results": results})

    def _tags(self, request: Request) -> Reply:
        results = []
        for item in request.get_json():
            product_id, tag = item.get("product_id"), item.get("rfid_tag_id")
            if product_id not in self.stored:
                results.append({"id": product_id, "status": "error", "error": "unknown product"})
            elif not isinstance(tag, str) or not TAG.fullmatch(tag):
                results.append(
                    {
                        "id": product_id,
                        "status": "error",
                        "error": "rfid_tag_id must be 16..32 uppercase hex",
                    }
                )
            elif self.tags.get(tag, product_id) != product_id:
                results.append(
                    {
                        "id": product_id,
                        "status": "error",
                        "error": f"tag already bound to {self.tags[tag]}",
                    }
                )
            else:
                status = "unchanged" if self.tags.get(tag) == product_id else "created"
                self.tags[tag] = product_id
                results.append({"id": product_id, "status": status})
        return Reply(200, {"results": results})

    def _locations(self, request: Request) -> Reply:
        results = []
        for item in request.get_json():
            item_id, code, zone = (
                item.get("item_id"),
                item.get("location_code"),
                item.get("zone_id"),
            )
            if item_id not in self.stored:
                results.append({"id": item_id, "status": "error", "error": "unknown item"})
            elif not isinstance(code, str) or not LOCATION.fullmatch(code):
                results.append(
                    {
                        "id": item_id,
                        "status": "error",
                        "error": f"location_code {code!r} must match ^[A-Z][0-9]{{4}}$",
                    }
                )
            elif zone is not None and zone not in self.zones:
                results.append({"id": item_id, "status": "error", "error": f"unknown zone {zone}"})
            else:
                status = "unchanged" if self.locations.get(item_id) == code else "created"
                self.locations[item_id] = code
                results.append({"id": item_id, "status": status})
        return Reply(200, {"results": results})

    def _zones(self, request: Request) -> Reply:
        return Reply(
            200, {"data": [{"zone_id": zone, "name": zone.title()} for zone in self.zones]}
        )
