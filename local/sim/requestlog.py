"""A log of the requests a simulator answered, for tests and the demo to read back.

Entries hold method, path, query, status, time and duration, never headers, so
no credential can reach it. Requests to the `/_sim/` read-back endpoints are not
logged. `arrived` is the request's `time.monotonic()` on arrival: what a test
counts windows and overlaps by (local/sim/ratelimit.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SIM_PATH_MARKER = "/_sim/"


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One answered request."""

    seq: int
    method: str
    path: str
    query: str
    status: int
    time: str
    duration_ms: float
    service: str | None
    arrived: float


class RequestLog:
    """Thread-safe, bounded log of answered requests (oldest dropped past `limit`)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._seq = 0

    def add(
        self,
        *,
        method: str,
        path: str,
        query: str,
        status: int,
        started: float,
        service: str | None = None,
    ) -> LoggedRequest:
        """Record one request; `started` is its `time.monotonic()` start."""
        duration_ms = round((time.monotonic() - started) * 1000, 3)
        with self._lock:
            self._seq += 1
            entry = LoggedRequest(
                seq=self._seq,
                method=method,
                path=path,
                query=query,
                status=status,
                time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                duration_ms=duration_ms,
                service=service,
                arrived=started,
            )
            self._entries.append(entry)
        return entry

    def entries(self, service: str | None = None) -> list[LoggedRequest]:
        """The logged requests in order, optionally only one service's."""
        with self._lock:
            items = list(self._entries)
        return [e for e in items if service is None or e.service == service]

    def as_json(self, service: str | None = None) -> list[dict[str, Any]]:
        """The entries as plain dicts (what GET /_sim/requests answers)."""
        return [asdict(e) for e in self.entries(service)]

    def clear(self) -> None:
        """Forget every entry (sequence numbers keep growing)."""
        with self._lock:
            self._entries.clear()


def is_sim_path(environ: WSGIEnvironment) -> bool:
    """True for the simulator's own read-back and control endpoints."""
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return SIM_PATH_MARKER in path + "/"


def log_requests(
    app: WSGIApplication, log: RequestLog, service: str | None = None
) -> WSGIApplication:
    """Wrap a WSGI app so that each answered request is added to `log`."""

    def logged(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if is_sim_path(environ):
            return app(environ, start_response)
        started = time.monotonic()

        def record_status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            log.add(
                method=environ.get("REQUEST_METHOD", ""),
                path=environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
                query=environ.get("QUERY_STRING", ""),
                status=int(status.split(" ", 1)[0]),
                started=started,
                service=service,
            )
            return start_response(status, headers, exc_info)

        return app(environ, record_status)

    return logged
