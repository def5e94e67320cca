"""A sliding-window rate limiter per API key (Siesa: 100 requests per 60 s), and how to count one.

`busiest_window` and `most_at_once` read a simulator's request times back
(RequestLog `arrived`): the most requests any window held, as the limiter
counts them, and the most requests in progress at once.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether a request may pass, how many remain in the window, and when to retry."""

    allowed: bool
    remaining: int
    retry_after_s: int


class SlidingWindowLimiter:
    """At most `limit` requests per key in any `window_s` seconds.

    Refused requests do not use up the window. `clock` is injectable so tests
    can move time instead of waiting.
    """

    def __init__(
        self,
        limit: int = 100,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> RateDecision:
        """Count one request for `key` if the window has room."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) < self.limit:
                hits.append(now)
                return RateDecision(True, self.limit - len(hits), 0)
            wait = hits[0] + self.window_s - now
            return RateDecision(False, 0, max(1, math.ceil(wait)))

    def reset(self) -> None:
        """Forget every key's history."""
        with self._lock:
            self._hits.clear()


def optional_limiter(
    limit: int | None, window_s: float, clock: Callable[[], float] = time.monotonic
) -> SlidingWindowLimiter | None:
    """A limiter of `limit` requests per `window_s`, or None for a simulator without a limit."""
    return SlidingWindowLimiter(limit, window_s, clock) if limit is not None else None


def busiest_window(arrivals: Iterable[float], window_s: float) -> int:
    """The most requests any window of `window_s` held: max over t of those in (t - window_s, t].

    The limiter's own count, taken at every arrival, so a budget that never
    exceeds this never meets a 429 from a limiter of the same window.
    """
    times = sorted(arrivals)
    most, start = 0, 0
    for end, now in enumerate(times):
        while times[start] <= now - window_s:
            start += 1
        most = max(most, end - start + 1)
    return most


def most_at_once(spans: Sequence[tuple[float, float]]) -> int:
    """The most (start, end) spans that overlap at any moment (requests in progress at once)."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, change in edges:
        current += change
        most = max(most, current)
    return most
