"""Client-side request budgets: how many requests per window one client may send, and its pauses.

The ERP allows 100 requests per minute per client, and a product that
answers 429 with Retry-After wants every caller of that client to wait, not
only the one it answered. So every API call first takes one request from
its client's budget (`acquire`), and a 429 with Retry-After pauses the whole
budget (`pause`). A budget is keyed by client id.

Two kinds implement `RequestBudget`: `SlidingWindowBudget` here, kept in
this process (unit tests, the CLI, anything without a budgets table), and
`runtime.budgets.TableBudget`, kept in DynamoDB and shared by every
invocation and worker of a client. Clock and sleeper are injectable so
tests never wait.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]
Sleeper = Callable[[float], None]


class BudgetWaitTooLong(Exception):
    """Taking a request would mean waiting longer than the caller may wait.

    The caller does not send; it raises its API's rate-limited error with
    `seconds` as the Retry-After, so the workflow's own retry waits instead
    of a Lambda sleeping out its time.
    """

    def __init__(self, seconds: float, *, paused: bool) -> None:
        cause = "the client's requests are paused after a 429" if paused else "the budget is spent"
        super().__init__(f"{cause}; the next request may go in {seconds:.1f} s")
        self.seconds = seconds
        self.paused = paused


class RequestBudget(Protocol):
    """Requests per window per key, and pauses that hold every caller of a key."""

    def acquire(self, key: str, max_wait: float | None = None) -> float:
        """Take one request for `key`, sleeping until it may go; returns the seconds slept.

        BudgetWaitTooLong (and nothing taken) when that would be more than `max_wait`.
        """
        ...

    def pause(self, key: str, seconds: float) -> None:
        """Hold every request of `key` for `seconds` from now (a 429's Retry-After)."""
        ...


@dataclass(frozen=True)
class BudgetGate:
    """One client's place in one budget: what an API client takes before each request."""

    budget: RequestBudget
    key: str

    def acquire(self, max_wait: float | None = None) -> float:
        """Take one request of this client (RequestBudget.acquire)."""
        return self.budget.acquire(self.key, max_wait)

    def pause(self, seconds: float) -> None:
        """Pause every request of this client (RequestBudget.pause)."""
        self.budget.pause(self.key, seconds)


class SlidingWindowBudget:
    """At most `limit` requests per key in any `window_seconds`, and pauses, in this process.

    `limit=None` caps nothing: the budget then only holds pauses (a product
    whose contract states no limit, which still answers 429).
    """

    def __init__(
        self,
        limit: int | None,
        window_seconds: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleeper = time.sleep,
    ) -> None:
        if (limit is not None and limit < 1) or window_seconds <= 0:
            raise ValueError("a budget needs limit >= 1 (or None) and a positive window")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[str, deque[float]] = {}
        self._paused_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, max_wait: float | None = None) -> float:
        """Take one request from `key`'s budget, sleeping first if it is spent or paused.

        Returns the seconds slept (0.0 when the request fit at once).
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                delay, paused = self._delay(key, now)
                if delay <= 0:
                    if self.limit is not None:
                        self._sent[key].append(now)
                    return waited
            if max_wait is not None and delay > max_wait:
                raise BudgetWaitTooLong(delay, paused=paused)
            self._sleep(delay)
            waited += delay

    def _delay(self, key: str, now: float) -> tuple[float, bool]:
        """Seconds until `key` may send, and whether a pause is why (under the lock)."""
        paused = self._paused_until.get(key, 0.0) - now
        if paused > 0:
            return paused, True
        if self.limit is None:
            return 0.0, False
        sent = self._sent.setdefault(key, deque())
        while sent and sent[0] <= now - self.window_seconds:
            sent.popleft()
        if len(sent) < self.limit:
            return 0.0, False
        return sent[0] + self.window_seconds - now, False

    def pause(self, key: str, seconds: float) -> None:
        """Hold `key`'s requests until `seconds` from now (a longer pause already set stays)."""
        if seconds <= 0:
            return
        with self._lock:
            until = self._clock() + seconds
            self._paused_until[key] = max(self._paused_until.get(key, 0.0), until)

    def in_window(self, key: str) -> int:
        """How many requests for `key` fall in the current window."""
        with self._lock:
            now = self._clock()
            return sum(1 for at in self._sent.get(key, ()) if at > now - self.window_seconds)
