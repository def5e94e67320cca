"""A small hook through which every HTTP call reports its latency.

The observability layer subscribes (process-wide, or per client) and turns
each `ApiCall` into an `APILatency` metric; the HTTP code does not know about
metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One HTTP attempt: which API, which operation, how it ended, how long it took."""

    api: str
    operation: str
    status: int | None
    outcome: str
    seconds: float
    attempt: int


LatencyHook = Callable[[ApiCall], None]

_listeners: list[LatencyHook] = []


def add_latency_listener(hook: LatencyHook) -> Callable[[], None]:
    """Subscribe `hook` to every call in this process; returns a function that unsubscribes."""
    _listeners.append(hook)

    def remove() -> None:
        if hook in _listeners:
            _listeners.remove(hook)

    return remove


def report_call(call: ApiCall, extra: LatencyHook | None = None) -> None:
    """Hand `call` to the process-wide listeners and to `extra`.

    A failing listener is logged and skipped: metrics must never break a sync.
    """
    for hook in (*_listeners, *((extra,) if extra else ())):
        try:
            hook(call)
        except Exception:
            logger.exception("latency listener failed for %s %s", call.api, call.operation)
