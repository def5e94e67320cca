"""DynamoDB's one-item atomicity on the embedded AWS: one DynamoDB request at a time.

On AWS a conditional write is atomic: two UpdateItems racing on one item
with `attribute_not_exists(...)` cannot both succeed; the run lease
(runtime/run_lease.py) relies on it. moto 5.2.5's threaded server checks the
condition and writes the item as two steps with no lock, so two requests
released together can both pass. The embedded AWS serialises DynamoDB
requests (those whose `X-Amz-Target` is DynamoDB's) with one lock in front
of moto's application; every other service runs concurrently as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_TARGET = "HTTP_X_AMZ_TARGET"
_DYNAMODB = "DynamoDB_"


def one_dynamodb_request_at_a_time(app: WsgiApp) -> WsgiApp:
    """`app` with DynamoDB requests answered one at a time (each body read inside the lock)."""
    lock = threading.Lock()

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get(_TARGET, "")).startswith(_DYNAMODB):
            return app(environ, start_response)
        with lock:
            return list(app(environ, start_response))

    return serve
