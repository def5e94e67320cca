"""A record of each Lambda invocation the embedded AWS ran: which function, how long, how big.

What a benchmark needs to say that no invocation grows with the catalog: per
function, how many invocations, the longest one and the largest memory one
grew to (`local/child_memory.py`; only isolated invocations, each in its own
process, have a memory figure). Off by default: a long run (the demo, a test
session) would otherwise keep a record per invocation for nothing.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from local.child_memory import ChildMemory

SUCCEEDED = "ok"


@dataclass(frozen=True)
class Invocation:
    """One invocation: its function, wall time, outcome ("ok" or Lambda's errorType), memory.

    `mode` is the event's (a run's `page`, `retried` or `finish` step), so a one-off step
    stands apart from the per-page invocations of the same function."""

    function_name: str
    seconds: float
    outcome: str
    memory: ChildMemory | None
    mode: str | None = None

    @property
    def label(self) -> str:
        """`function [mode]`, or the function alone."""
        return f"{self.function_name} [{self.mode}]" if self.mode else self.function_name


def outcome_name(body: bytes, failed: bool) -> str:
    """ "ok", or the errorType of Lambda's error body."""
    if not failed:
        return SUCCEEDED
    try:
        return str(json.loads(body)["errorType"])
    except (ValueError, KeyError, TypeError):
        return "Unknown"


class InvocationLog:
    """Invocations in the order they ended, kept only while `enabled` (thread-safe)."""

    def __init__(self, *, enabled: bool = False) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._records: list[Invocation] = []

    def add(self, record: Invocation) -> None:
        """Keep `record` if the log is on."""
        if self.enabled:
            with self._lock:
                self._records.append(record)

    def records(self) -> list[Invocation]:
        """A copy of what was kept so far."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget what was kept (between two runs of a benchmark)."""
        with self._lock:
            self._records.clear()
