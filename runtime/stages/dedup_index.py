"""Where the extractor's dedup index lives: key -> number of the page holding the record's live copy.

One extraction may take several Lambda invocations (the workflow loops the
extractor with a cursor), so the index cannot live in one invocation's
memory. `TableDedupIndex` keeps one DynamoDB item per (client, run, record
key): partition key `client_id` (the extractor's tenant role reaches only its
client's items, by `dynamodb:LeadingKeys`), sort key `{run_id}#{record key}`,
attributes `page`, `seq` and `attempt`, expiring a week later (`expires_at`).
It reads the keys of one ERP page in batches of 100 and writes that page's
entries in batches of 25, so memory holds one page's entries whatever the
catalog's size.

An invocation that fails mid-way may have written entries the workflow's
retry (the same cursor, a new attempt) does not repeat: an entry counts
only when an earlier, finished invocation wrote it (`seq` below the
current one) or this very attempt did. Only one invocation of a run writes
at a time (the workflow's loop is sequential and the client's run lease
keeps one execution per client), so plain batch writes suffice; no
conditional write is needed.

`MemoryDedupIndex` is the same index in a dict: unit tests, and an engine
configured without the table (then the extraction never hands back a
cursor: its index would not survive).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.errors import DedupIndexBusy

BATCH_GET_MAX = 100
BATCH_WRITE_MAX = 25
ENTRY_TTL_SECONDS = 7 * 24 * 3600
"""A run's entries outlive any run (the workflow stops after 2 hours), then expire."""
MAX_ROUNDS = 8
"""Rounds of a batch whose unprocessed part is asked again (throttling), backing off between."""
ATTRIBUTES = ("client_id", "entry", "page", "seq", "attempt", "expires_at")
"""Every attribute the index writes (the tenant role's policy allows exactly these)."""


def _backoff(attempt: int) -> float:
    """Seconds before asking an unprocessed part again: 50 ms doubling, at most 2 s."""
    return float(min(2.0, 0.05 * 2**attempt))


class DedupIndex(Protocol):
    """key -> page number of the record's live copy, read a page's keys at a time."""

    durable: bool
    """True when the index outlives the invocation (a cursor may be handed back)."""

    def prefetch(self, keys: Iterable[str]) -> None: ...

    def get(self, key: str) -> int | None: ...

    def put(self, key: str, page: int) -> None: ...

    def flush(self) -> None: ...


@dataclass
class MemoryDedupIndex:
    """The index in this process's memory (one invocation's extraction)."""

    durable: bool = False
    _pages: dict[str, int] = field(default_factory=dict, repr=False)

    def prefetch(self, keys: Iterable[str]) -> None:
        """Nothing to read ahead."""

    def get(self, key: str) -> int | None:
        """The page of `key`'s live copy, or None."""
        return self._pages.get(key)

    def put(self, key: str, page: int) -> None:
        """`key`'s live copy is now on `page`."""
        self._pages[key] = page

    def flush(self) -> None:
        """Nothing to write."""


class _DynamoDb(Protocol):
    def batch_get_item(self, **kwargs: Any) -> Any: ...

    def batch_write_item(self, **kwargs: Any) -> Any: ...


@dataclass
class TableDedupIndex:
    """The index in DynamoDB, one item per (client, run, record key); see the module docstring."""

    table: str
    client_id: str
    run_id: str
    seq: int
    dynamodb: _DynamoDb
    attempt: str = field(default_factory=lambda: secrets.token_hex(6))
    clock: Any = time.time
    sleep: Any = time.sleep
    durable: bool = True
    reads: int = 0
    writes: int = 0
    _known: dict[str, int | None] = field(default_factory=dict, repr=False)
    _pending: dict[str, int] = field(default_factory=dict, repr=False)

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the entries of `keys` (one ERP page), forgetting those of the previous page."""
        self._known = {}
        wanted = [key for key in dict.fromkeys(keys) if key not in self._pending]
        for start in range(0, len(wanted), BATCH_GET_MAX):
            self._read(wanted[start : start + BATCH_GET_MAX])

    def get(self, key: str) -> int | None:
        """The page of `key`'s live copy, or None (read on its own when not prefetched)."""
        if key in self._pending:
            return self._pending[key]
        if key not in self._known:
            self._read([key])
        return self._known.get(key)

    def put(self, key: str, page: int) -> None:
        """`key`'s live copy is now on `page` (written at the next flush)."""
        self._pending[key] = page

    def flush(self) -> None:
        """Write the pending entries in batches of 25."""
        items = list(self._pending.items())
        expires = str(int(self.clock()) + ENTRY_TTL_SECONDS)
        for start in range(0, len(items), BATCH_WRITE_MAX):
            requests = [
                {
                    "PutRequest": {
                        "Item": {
                            **self._key(key),
                            "page": {"N": str(page)},
                            "seq": {"N": str(self.seq)},
                            "attempt": {"S": self.attempt},
                            "expires_at": {"N": expires},
                        }
                    }
                }
                for key, page in items[start : start + BATCH_WRITE_MAX]
            ]
            self._write(requests)
        for key, page in items:
            self._known[key] = page
        self._pending = {}

    def _read(self, keys: list[str]) -> None:
        for key in keys:
            self._known[key] = None
        request: dict[str, Any] = {
            self.table: {"Keys": [self._key(key) for key in keys], "ConsistentRead": True}
        }
        for attempt in range(MAX_ROUNDS):
            answer = self.dynamodb.batch_get_item(RequestItems=request)
            self.reads += 1
            for item in answer.get("Responses", {}).get(self.table, []):
                if self._counts(item):
                    key = item["entry"]["S"].split("#", 1)[1]
                    self._known[key] = int(item["page"]["N"])
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return
            self.sleep(_backoff(attempt))
        raise DedupIndexBusy(f"the dedup table {self.table} left keys unread {MAX_ROUNDS} times")

    def _write(self, requests: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self.table: requests}
        for attempt in range(MAX_ROUNDS):
            answer = self.dynamodb.batch_write_item(RequestItems=pending)
            self.writes += 1
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                return
            self.sleep(_backoff(attempt))
        raise DedupIndexBusy(
            f"the dedup table {self.table} left items unwritten {MAX_ROUNDS} times"
        )

    def _counts(self, item: dict[str, Any]) -> bool:
        """True for an entry of a finished invocation, or of this attempt."""
        seq = int(item.get("seq", {}).get("N", "0"))
        return seq < self.seq or item.get("attempt", {}).get("S") == self.attempt

    def _key(self, key: str) -> dict[str, dict[str, str]]:
        return {"client_id": {"S": self.client_id}, "entry": {"S": f"{self.run_id}#{key}"}}
