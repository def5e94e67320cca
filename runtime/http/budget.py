"""A client-side request budget: at most N requests per sliding window, per key.

The ERP allows 100 requests per minute per client; staying under it is
cheaper than collecting 429s. One budget is shared by every source in the
process (a warm Lambda container may serve the same client again), keyed by
client id. Clock and sleeper are injectable so tests never wait.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]
Sleeper = Callable[[float], None]


class SlidingWindowBudget:
    """Blocks `acquire(key)` until a request for `key` fits in the window."""

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleeper = time.sleep,
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("a budget needs limit >= 1 and a positive window")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one request from `key`'s budget, sleeping first if it is spent.

        Returns the seconds slept (0.0 when the request fit at once).
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                sent = self._sent.setdefault(key, deque())
                while sent and sent[0] <= now - self.window_seconds:
                    sent.popleft()
                if len(sent) < self.limit:
                    sent.append(now)
                    return waited
                delay = sent[0] + self.window_seconds - now
            self._sleep(delay)
            waited += delay

    def in_window(self, key: str) -> int:
        """How many requests for `key` fall in the current window."""
        with self._lock:
            now = self._clock()
            return sum(1 for at in self._sent.get(key, ()) if at > now - self.window_seconds)
