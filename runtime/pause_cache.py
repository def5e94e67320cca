"""What this process knows of its clients' 429 pauses: one budgets-table read per freshness, not per request.

A budget with no rate cap (the product side by default) has one thing to
learn from the budgets table before each request: whether a 429 answered to
another worker of the client paused it (runtime/budgets.py). Reading the
item before every request costs one DynamoDB GetItem per product call, in
the request's path; this cache reads it at most once per freshness interval
per client and budget in a process, whichever worker thread asks, and learns
this process's own 429s at once (`note`, before the pause is written).

The bound, F (`PAUSE_FRESHNESS_MS`, 250 ms by default; 0 reads before every
request, as before): a pause stored by another process holds every worker of
this one from at most F after it was stored, and this process's own pauses
from the moment its 429 came back. Why that is enough:

- Retry-After is whole seconds (RFC 9110: delay-seconds, or an HTTP-date,
  one-second resolution), so the shortest pause is 1 s, and F = 250 ms still
  leaves another process holding at least three quarters of it.
- A request such a process sends during those F it sends to a product that
  is refusing; it gets its own 429, which pauses that process at once. So
  the staleness costs at most one refused request per worker of each other
  process (the requests in flight), however long F is, and nothing is lost:
  a refused request is retried after its Retry-After like any other.
- Reads: at most 1 / F a second per process (4 a second), where a read per
  request is 80 a second for 4 workers at 50 ms; a 100,000-product load
  (about 2,000 product calls) reads the item about a hundred times.

Capped budgets (the ERP's 100 a minute) never use this: their conditional
write reads the item anyway, and the rate must be exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from runtime import settings


@dataclass
class _Known:
    """One client's budget as this process knows it (times in microseconds on the budget's clock)."""

    stored: int = 0
    """`paused_until` as last read from the table."""
    read_at: int | None = None
    """When that read began; None: never read."""
    own: int = 0
    """The latest end of a pause this process itself set (its 429s)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while one thread reads the table: the others wait for its answer, not re-read."""

    def fresh(self, now: int, freshness_us: int) -> bool:
        """Whether the last read is recent enough; a read from a later time (another clock) is not."""
        return self.read_at is not None and 0 <= now - self.read_at < freshness_us


class PauseCache:
    """Pause ends per (endpoint, table, budget, client), read from the table at most once per freshness."""

    def __init__(self) -> None:
        self._known: dict[Hashable, _Known] = {}
        self._lock = threading.Lock()

    def paused_until(
        self, slot: Hashable, now: int, freshness_us: int, read: Callable[[], int]
    ) -> int:
        """The end of `slot`'s pause as known at `now`; `read()` asks the table when that is stale."""
        known = self._entry(slot)
        if not known.fresh(now, freshness_us):
            with known.lock:
                if not known.fresh(now, freshness_us):  # no other thread read it meanwhile
                    known.stored = read()
                    known.read_at = now
        return max(known.stored, known.own)

    def note(self, slot: Hashable, until: int) -> None:
        """This process paused `slot` until `until`: every worker here holds at once."""
        known = self._entry(slot)
        with self._lock:
            known.own = max(known.own, until)

    def clear(self) -> None:
        """Forget everything (tests; a process that knows nothing reads the table first)."""
        with self._lock:
            self._known.clear()

    def _entry(self, slot: Hashable) -> _Known:
        with self._lock:
            known = self._known.get(slot)
            if known is None:
                known = self._known[slot] = _Known()
            return known


PROCESS_PAUSES = PauseCache()
"""The process's cache: every budget object of a client in this process shares what it knows."""


def freshness_us(explicit_seconds: float | None = None) -> int:
    """The freshness bound in microseconds: `explicit_seconds`, else `PAUSE_FRESHNESS_MS`."""
    if explicit_seconds is not None:
        if explicit_seconds < 0:
            raise ValueError("a pause freshness cannot be negative")
        return round(explicit_seconds * 1_000_000)
    return settings.pause_freshness_ms() * 1000


def forget_pauses() -> None:
    """Forget what this process knows of pauses (tests, between moto worlds)."""
    PROCESS_PAUSES.clear()
