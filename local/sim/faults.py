"""Fault injection for the simulators: the failures a client must survive, on demand.

A `FaultPlan` holds the knobs; a `FaultInjector` applies them request by request
and is changed at run time from Python (`injector.set(...)`) or over HTTP
(POST /_sim/faults with the same names). Counted faults ("the next N requests")
are deterministic and are what tests should use; rates draw from a seeded RNG.

Per request, in this order: a revoked credential answers 401 (from request
`revoke_from_request` on); a server "down" answers 503 to every request after
the first `down_after`; a path of `status_on` answers its status;
request number `rate_limit_at_request` answers 429;
else the first counted fault with a count left is used up (429, 503, 500,
read timeout, dropped connection, malformed JSON);
else the 503 and 500 rates are drawn. `latency_ms` delays every request.
Requests to `/_sim/` are never faulted or counted.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from local.sim.requestlog import is_sim_path
from local.sim.server import STOP_EVENT_KEY

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FaultKind = Literal[
    "revoked",
    "down",
    "status",
    "rate_limit",
    "error_503",
    "error_500",
    "timeout",
    "drop_connection",
    "malformed_json",
]
COUNTED_FAULTS: tuple[tuple[str, FaultKind], ...] = (
    ("rate_limit_next", "rate_limit"),
    ("error_503_next", "error_503"),
    ("error_500_next", "error_500"),
    ("timeout_next", "timeout"),
    ("drop_connection_next", "drop_connection"),
    ("malformed_json_next", "malformed_json"),
)

ERROR_STATUSES: dict[str, tuple[str, str]] = {
    "revoked": ("401 Unauthorized", "unauthorized"),
    "down": ("503 Service Unavailable", "service down (injected: down after N requests)"),
    "rate_limit": ("429 Too Many Requests", "rate limit exceeded"),
    "error_503": ("503 Service Unavailable", "service unavailable"),
    "error_500": ("500 Internal Server Error", "internal error"),
}
"""Faults answered with an error status instead of calling the app."""


class FaultPlan(BaseModel):
    """The fault knobs. Counts are "the next N requests"; rates are 0..1 per request."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(default=0, ge=0, description="delay added to every request")
    rate_limit_next: int = Field(default=0, ge=0, description="next N requests answer 429")
    retry_after: int = Field(default=1, ge=0, description="Retry-After of injected 429s, seconds")
    retry_after_format: Literal["seconds", "http-date"] = "seconds"
    error_500_next: int = Field(default=0, ge=0)
    error_503_next: int = Field(default=0, ge=0)
    error_500_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_503_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int = Field(default=0, description="seed of the RNG the rates draw from")
    timeout_next: int = Field(default=0, ge=0, description="next N requests stall first")
    timeout_delay_s: float = Field(
        default=30.0, gt=0, description="how long a stalled request waits before answering"
    )
    drop_connection_next: int = Field(
        default=0, ge=0, description="next N responses stop half way and the socket closes"
    )
    malformed_json_next: int = Field(
        default=0, ge=0, description="next N responses carry a truncated JSON body"
    )
    move_record_after_page: int | None = Field(
        default=None,
        ge=1,
        description="Siesa: after serving this page, modify a record of it so it moves to a later page",
    )
    revoke_from_request: int | None = Field(
        default=None, ge=1, description="answer 401 from the Nth counted request on"
    )
    rate_limit_at_request: int | None = Field(
        default=None, ge=1, description="answer 429 (with retry_after) to the Nth counted request"
    )
    down_after: int | None = Field(
        default=None, ge=0, description="answer 503 to every counted request after the first N"
    )
    status_on: dict[str, Annotated[int, Field(ge=400, le=599)]] = Field(
        default_factory=dict,
        description="path (or path prefix ending in /) -> HTTP error status it always answers",
    )

    def status_for(self, path: str) -> int | None:
        """The status `status_on` sets for this request path (the longest match), if any."""
        matches = [
            prefix
            for prefix in self.status_on
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix))
        ]
        return self.status_on[max(matches, key=len)] if matches else None


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request."""

    kind: FaultKind | None
    delay_s: float
    status: int | None = None
    """The HTTP status of a "status" fault."""


class FaultInjector:
    """Applies a `FaultPlan` to requests; thread-safe; counts what it injected."""

    def __init__(self, plan: FaultPlan | None = None, **knobs: Any) -> None:
        self._lock = threading.Lock()
        self._plan = (plan or FaultPlan()).model_copy(update=knobs)
        self._plan = FaultPlan.model_validate(self._plan.model_dump())
        self._rng = random.Random(self._plan.seed)  # nosec B311 # seeded, so a fault plan injects the same faults every run
        self._requests = 0
        self._injected: dict[str, int] = {}
        self._events: list[dict[str, Any]] = []

    @property
    def plan(self) -> FaultPlan:
        """A copy of the current plan (counts show what is left)."""
        with self._lock:
            return self._plan.model_copy()

    @property
    def requests_seen(self) -> int:
        """Counted requests so far (the numbering `revoke_from_request` uses)."""
        with self._lock:
            return self._requests

    def set(self, **knobs: Any) -> FaultPlan:
        """Change some knobs (validated); a new `seed` restarts the RNG."""
        with self._lock:
            merged = self._plan.model_dump() | knobs
            self._plan = FaultPlan.model_validate(merged)
            if "seed" in knobs:
                self._rng = random.Random(self._plan.seed)  # nosec B311 # seeded, so a fault plan injects the same faults every run
            return self._plan.model_copy()

    def reset(self) -> None:
        """Back to no faults; the request count and tallies restart too."""
        with self._lock:
            self._plan = FaultPlan()
            self._rng = random.Random(0)  # nosec B311 # seeded, so a fault plan injects the same faults every run
            self._requests = 0
            self._injected = {}
            self._events = []

    def decide(self, path: str = "") -> FaultDecision:
        """Count one request (to `path`) and choose its fault (or none)."""
        with self._lock:
            self._requests += 1
            plan = self._plan
            delay = plan.latency_ms / 1000
            status = plan.status_for(path)
            kind = self._choose(plan, status)
            if kind == "timeout":
                delay += plan.timeout_delay_s
            if kind is not None:
                self._injected[kind] = self._injected.get(kind, 0) + 1
            return FaultDecision(kind=kind, delay_s=delay, status=status)

    def _choose(self, plan: FaultPlan, status: int | None = None) -> FaultKind | None:
        if plan.revoke_from_request is not None and self._requests >= plan.revoke_from_request:
            return "revoked"
        if plan.down_after is not None and self._requests > plan.down_after:
            return "down"
        if status is not None:
            return "status"
        if plan.rate_limit_at_request == self._requests:
            return "rate_limit"
        for knob, kind in COUNTED_FAULTS:
            left = getattr(plan, knob)
            if left > 0:
                setattr(plan, knob, left - 1)
                return kind
        if plan.error_503_rate and self._rng.random() < plan.error_503_rate:
            return "error_503"
        if plan.error_500_rate and self._rng.random() < plan.error_500_rate:
            return "error_500"
        return None

    def take_move_after_page(self, page: int) -> bool:
        """True once, when `page` is the plan's `move_record_after_page` (then cleared)."""
        with self._lock:
            if self._plan.move_record_after_page == page:
                self._plan.move_record_after_page = None
                return True
            return False

    def record_event(self, event: Mapping[str, Any]) -> None:
        """Note something an app did because of a fault (e.g. which record it moved)."""
        with self._lock:
            self._events.append(dict(event))

    def retry_after_header(self) -> str:
        """Retry-After for an injected 429, in the plan's format."""
        plan = self.plan
        if plan.retry_after_format == "http-date":
            when = datetime.now(UTC) + timedelta(seconds=plan.retry_after)
            return format_datetime(when, usegmt=True)
        return str(plan.retry_after)

    def snapshot(self) -> dict[str, Any]:
        """Plan, counted requests, injected tallies and events (GET /_sim/faults)."""
        with self._lock:
            return {
                "plan": self._plan.model_dump(),
                "requests_seen": self._requests,
                "injected": dict(self._injected),
                "events": [dict(e) for e in self._events],
            }

    def apply_request(self, body: object) -> dict[str, Any]:
        """Apply a POST /_sim/faults body: knobs to set, `"reset": true` to clear first."""
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object of fault knobs")
        knobs = dict(body)
        if knobs.pop("reset", False):
            self.reset()
        if knobs:
            self.set(**knobs)
        return self.snapshot()


def _phrase(status: int) -> str:
    """The reason phrase of an HTTP status ("Error" for a code without one)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_error(
    status: str, error: str, extra_headers: Iterable[tuple[str, str]] = ()
) -> tuple[str, list[tuple[str, str]], bytes]:
    body = json.dumps({"error": error, "detail": "injected by the simulator"}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    headers.extend(extra_headers)
    return status, headers, body


def _collect(
    app: WSGIApplication, environ: WSGIEnvironment
) -> tuple[str, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    result = app(environ, capture)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured["status"], list(captured["headers"]), body


def _with_length(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    return [*kept, ("Content-Length", str(length))]


def _dropping_body(environ: WSGIEnvironment, body: bytes) -> Iterator[bytes]:
    """Send the first half of `body`, then cut the connection."""
    yield body[: len(body) // 2]
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    else:  # not served by werkzeug: abort the response the WSGI way
        raise ConnectionAbortedError("connection dropped by the simulator")


def with_faults(app: WSGIApplication, injector: FaultInjector) -> WSGIApplication:
    """Wrap a WSGI app so that `injector` decides each request's fault."""

    def faulty(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if is_sim_path(environ):
            return app(environ, start_response)
        decision = injector.decide(str(environ.get("PATH_INFO", "")))
        if decision.delay_s > 0:
            stop = environ.get(STOP_EVENT_KEY)
            (stop if isinstance(stop, threading.Event) else threading.Event()).wait(
                decision.delay_s
            )
        kind = decision.kind
        if kind == "status" and decision.status is not None:
            phrase = _phrase(decision.status)
            status, headers, body = _json_error(f"{decision.status} {phrase}", phrase.lower())
            start_response(status, headers)
            return [body]
        if kind in ERROR_STATUSES:
            status, error = ERROR_STATUSES[kind]
            extra = [("Retry-After", injector.retry_after_header())] if kind == "rate_limit" else []
            status, headers, body = _json_error(status, error, extra)
            start_response(status, headers)
            return [body]
        if kind == "malformed_json":
            status, headers, body = _collect(app, environ)
            broken = body[: len(body) // 2] if len(body) > 1 else b"{"
            start_response(status, _with_length(headers, len(broken)))
            return [broken]
        if kind == "drop_connection":
            status, headers, body = _collect(app, environ)
            # Promise the whole body (at least 2 bytes) and deliver only half of it.
            start_response(status, _with_length(headers, max(len(body), 2)))
            return _dropping_body(environ, body)
        return app(environ, start_response)

    return faulty
