"""The playground's HTTP server: the page, its script, and one JSON endpoint, on 127.0.0.1 only.

`GET /` the page, `GET /page.js` and `/page.css` (package data, nothing
fetched from elsewhere), `GET /api/state` the file's text and what the page
maps, `POST /api/run` with `{"source": TEXT}`: what that text does
(playground/evaluate.py) and, under `--write`, whether it was saved. Every
request passes playground/guard.py first. One keystroke's work at a time
(a lock): the page sends only the latest text, and the work is bounded.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from compiler.sources import read_map_bytes
from contract import jsontext
from dsl.diagnostics import MapError
from dsl.source_text import decode_map_bytes
from playground.evaluate import MAX_SOURCE_BYTES, Workspace, evaluate
from playground.guard import refusal, security_headers
from playground.samples import Samples
from playground.save import SAVED, save_if_parses

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = MAX_SOURCE_BYTES + 64 * 1024
"""A request body larger than this is refused unread (413): the text and its JSON quoting."""
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
}


@dataclass
class Playground:
    """What the server serves: the file being typed, its records, whether edits are saved."""

    workspace: Workspace
    samples: Samples
    source: str
    write: bool = False
    on_disk: str | None = None
    """The file's text as last read or written here; None for a draft held in memory."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def state(self) -> dict[str, Any]:
        """The text to start the page with, and what it maps.

        The latest text typed, unless the file changed on disk since (an editor saved it):
        then the file's text, so reloading the page follows the editor.
        """
        with self.lock:
            self._follow_disk()
            return {
                "file": self.workspace.display,
                "source": self.source,
                "write": self.write,
                "records": self.samples.description,
            }

    def _follow_disk(self) -> None:
        if self.on_disk is None:
            return
        try:
            data = read_map_bytes(self.workspace.path)
            text = decode_map_bytes(data, self.workspace.display)
        except (OSError, MapError):
            return
        if text != self.on_disk:
            self.source = self.on_disk = text

    def run(self, source: str) -> dict[str, Any]:
        """What `source` does, and under --write whether it reached the file."""
        with self.lock:
            result = evaluate(source, self.workspace, self.samples)
            if self.write:
                saved = save_if_parses(self.workspace.path, source, self.workspace.display)
                result["saved"] = saved
                if saved == SAVED:
                    self.on_disk = source
            self.source = source
        return result


class _Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    server_version = "siesa-map-serve"
    sys_version = ""
    timeout = 30  # an idle connection (a browser's spare socket) is closed, not kept forever

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per keystroke would bury what the command printed."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in security_headers().items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, document: Any) -> None:
        self._send(status, jsontext.dumps(document).encode("utf-8"), "application/json")

    def _error(self, status: int, reason: str) -> None:
        self._json(status, {"error": reason})

    def _refused(self, method: str) -> bool:
        found = refusal(method, self.headers, self.server.server_port)
        if found is not None:
            self._error(found.status, found.reason)
        return found is not None

    def do_GET(self) -> None:
        """The page and its files, or the state the page starts from."""
        if self._refused("GET"):
            return
        path = self.path.split("?", 1)[0]
        if path == "/api/state":
            self._json(HTTPStatus.OK, self.server.playground.state())
            return
        found = STATIC.get(path)
        if found is None:
            self._error(HTTPStatus.NOT_FOUND, "no such page")
            return
        name, content_type = found
        body = resources.files("playground").joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, body, content_type)

    def do_POST(self) -> None:
        """`/api/run`: the typed text in, what it does out."""
        if self._refused("POST"):
            return
        if self.path != "/api/run":
            self._error(HTTPStatus.NOT_FOUND, "no such endpoint")
            return
        source = self._source()
        if source is not None:
            self._json(HTTPStatus.OK, self.server.playground.run(source))

    def _source(self) -> str | None:
        """The `source` of the request's JSON body; None after answering an error."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
            return None
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "the text is too large")
            return None
        try:
            document = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            document = None
        source = document.get("source") if isinstance(document, dict) else None
        if not isinstance(source, str):
            self._error(HTTPStatus.BAD_REQUEST, 'send {"source": "the .map text"}')
            return None
        return source


class PlaygroundServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 (never another address) serving one playground."""

    daemon_threads = True

    def __init__(self, playground: Playground, port: int = 0) -> None:
        self.playground = playground
        super().__init__((LOOPBACK, port), _Handler)

    @property
    def url(self) -> str:
        """The page's address."""
        return f"http://{LOOPBACK}:{self.server_port}/"
