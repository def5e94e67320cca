"""Helpers of the playground tests: a server in this process, raw requests, a small mapping."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from compiler.sources import common_root
from playground.evaluate import Workspace
from playground.samples import Samples, from_examples
from playground.server import Playground, PlaygroundServer

SHIRT = (
    '{"f_codigo": "P1", "f_codigo_externo": "SIESA-P1", "f_nombre": " Camisa ", "f_cantidad": "12"}'
)
MAPPING = f"""\
version 2
mapping mini for kong

every string | trim | empty_to_missing

field id string required <- f_codigo -> product_id
field external_id string required <- f_codigo_externo -> external_reference
field name string required <- f_nombre -> name
field stock_quantity int required <- f_cantidad -> quantity check >= 0

example "a shirt" {{
  in {SHIRT}
  expect product {{"product_id": "P1", "external_reference": "SIESA-P1", "name": "Camisa", "quantity": 12}}
}}

example "negative stock is rejected" {{
  in {{"f_codigo": "P2", "f_codigo_externo": "SIESA-P2", "f_nombre": "Pantalón", "f_cantidad": -1}}
  expect reject stock_quantity
}}
"""


def write_mapping(folder: Path, text: str = MAPPING, name: str = "mini.map") -> Path:
    """A `.map` file in `folder` (marked as the mappings root)."""
    (folder / ".mappings-root").write_text("", encoding="utf-8")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def workspace(path: Path) -> Workspace:
    """The playground's view of a file, shown by its path as given."""
    return Workspace(path, str(path), common_root([path]))


class Answer(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: Any


def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    """One HTTP request sent exactly with these headers (Host too, when given)."""
    given = dict(headers or {})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host="Host" in given, skip_accept_encoding=True)
        for name, value in given.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        content_type = response.getheader("Content-Type", "")
        parsed = json.loads(data) if content_type.startswith("application/json") else data
        return Answer(response.status, dict(response.getheaders()), parsed)
    finally:
        connection.close()


def post_source(port: int, source: str, **headers: str) -> Answer:
    """POST /api/run as the page does."""
    sent = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json", **headers}
    body = json.dumps({"source": source}).encode("utf-8")
    return request(port, "POST", "/api/run", headers=sent, body=body)


@contextmanager
def serving(
    path: Path, *, samples: Samples | None = None, write: bool = False
) -> Iterator[PlaygroundServer]:
    """A playground server on 127.0.0.1 in a thread of this process, shut down after."""
    space = workspace(path)
    text = path.read_text("utf-8")
    playground = Playground(space, samples or from_examples(space.display), text, write, text)
    server = PlaygroundServer(playground, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
