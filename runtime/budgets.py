"""Request budgets shared by every invocation and worker of a client, kept in DynamoDB.

The ERP allows 100 requests per minute per client, whatever runs them: the
extractor, a retry of it, or (with a Map state) several invocations at once.
A budget kept in one process's memory cannot see the others, so each client
has one item per budget (`siesa`, `product`) in the budgets table, reached
through the client's tenant session (its IAM policy allows only items whose
partition key is the session's `client_id`).

The algorithm is a token bucket (GCRA: the item holds one number, the
bucket's "theoretical arrival time" `tat`) with capacity B and a refill of
one request every (W + G) / (N - B) seconds, for N requests per window W.
Why not a fixed window: it lets 2N requests through around a window's edge,
and the ERP counts any 60 s (local/sim/ratelimit.py does the same). Why not
a sliding log: it is exact but its item grows with N (one time per request
in the window, rewritten on every request). A bucket of capacity B lets at
most B + (N - B) = N requests into any window of W + G: never more than the
limit, one number per item, and the first B requests of a run go at once.
B is a tenth of N (at least 1); G, the guard, is a sixtieth of W (1 s a
minute): requests leave on our clock but the ERP counts them on arrival,
and a request delayed by up to G (plus one refill interval) more than the
one N after it still keeps the ERP's window at N. The steady rate is
(N - B) / (W + G): 88.5 a minute for the ERP's 100.

Each request reserves its slot with one conditional write (`version` must
be what it read): two workers that read the same item both try, one wins,
the other reads again and takes the next slot. Then it sleeps until its
slot. A 429 with Retry-After stores `paused_until` in the same item, and
every worker waits for it before its slot; a worker that slept re-reads
the item before sending, so a pause set meanwhile holds it too. A budget
with no cap (the product side by default) keeps only pauses and writes
nothing but them; it does not read the item before every request either,
but asks the process's `PauseCache` (runtime/pause_cache.py), which reads it
at most once per `PAUSE_FRESHNESS_MS` (250 ms) and knows this process's own
429s at once: a pause set by another process holds this one within that
bound (the module says why that suffices).

Times are the workers' wall clocks (`time.time`, which Lambda keeps
synchronised to a few milliseconds), stored in whole microseconds since the
epoch so that sums are exact. Items expire (TTL `expires_at`, in seconds) a
day after their last use.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runtime import settings
from runtime.config import ClientConfig, validate_client_id
from runtime.http.budget import BudgetWaitTooLong, Clock, Sleeper
from runtime.pause_cache import PROCESS_PAUSES, PauseCache, freshness_us

SIESA_BUDGET_NAME = "siesa"
PRODUCT_BUDGET_NAME = "product"
BUDGET_NAMES = (SIESA_BUDGET_NAME, PRODUCT_BUDGET_NAME)
IDLE_SECONDS = 24 * 3600
"""A budget item unused this long is deleted by the table's TTL (its state is stale by then)."""
BURST_SHARE = 10
"""The bucket's capacity is the limit divided by this (at least 1)."""
GUARD_SHARE = 60
"""The guard added to a window is the window divided by this: 1 s a minute."""
BUDGETS_TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "client_id", "AttributeType": "S"},
        {"AttributeName": "budget", "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "client_id", "KeyType": "HASH"},
        {"AttributeName": "budget", "KeyType": "RANGE"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
"""`create_table` arguments (without TableName): for infra, the local engine and tests to agree on."""
MICROS = 1_000_000
"""Times and intervals are kept in whole microseconds: exact sums, no drift."""
ATTRIBUTES = ("client_id", "budget", "tat", "paused_until", "version", "expires_at")
"""Every attribute a budget item has: what the tenant roles may write (infra/template.yaml)."""


@dataclass(frozen=True)
class Rate:
    """At most `limit` requests in any `window_seconds`; `limit=None` caps nothing.

    `guard_seconds` (default: a sixtieth of the window) widens the window the
    budget keeps, for the network delay between sending and the server's count.
    """

    limit: int | None
    window_seconds: float
    guard_seconds: float | None = None

    def __post_init__(self) -> None:
        if (self.limit is not None and self.limit < 1) or self.window_seconds <= 0:
            raise ValueError("a rate needs limit >= 1 (or None) and a positive window")
        if self.guard_seconds is not None and self.guard_seconds < 0:
            raise ValueError("a rate's guard cannot be negative")

    @property
    def guard(self) -> float:
        """Seconds added to the window the budget keeps."""
        if self.guard_seconds is not None:
            return self.guard_seconds
        return self.window_seconds / GUARD_SHARE

    @property
    def burst(self) -> int:
        """The bucket's capacity: requests that may go at once after a quiet spell."""
        if self.limit is None:
            return 1
        return min(max(1, self.limit // BURST_SHARE), max(1, self.limit - 1))

    @property
    def interval(self) -> float:
        """Seconds the bucket takes to earn back one request: (W + G) / (N - B)."""
        if self.limit is None:
            return 0.0
        return (self.window_seconds + self.guard) / max(1, self.limit - self.burst)

    @property
    def interval_us(self) -> int:
        """The refill interval in whole microseconds, rounded up (the rate never exceeds N / W)."""
        return math.ceil(self.interval * MICROS)

    @property
    def tolerance_us(self) -> int:
        """How far ahead of now `tat` may be while a request still goes at once (microseconds)."""
        return (self.burst - 1) * self.interval_us


def rate_of(config: ClientConfig, name: str) -> Rate:
    """The client's rate for budget `name`, over the configured window (60 s outside tests)."""
    window = float(settings.rate_window_seconds())
    if name == SIESA_BUDGET_NAME:
        return Rate(config.siesa_requests_per_minute, window)
    if name == PRODUCT_BUDGET_NAME:
        return Rate(config.product_requests_per_minute, window)
    raise ValueError(f"unknown budget {name!r}; known: {', '.join(BUDGET_NAMES)}")


@dataclass(frozen=True)
class _State:
    """A budget item as read (times in microseconds): no item is a full bucket, unpaused."""

    tat: int = 0
    paused_until: int = 0
    version: int | None = None


class TableBudget:
    """One budget (`siesa` or `product`) of the budgets table; keys are client ids.

    `dynamodb` is a client of the tenant session of the client whose budget
    it takes (runtime/handlers/deps.py). Safe to share between threads.
    An uncapped budget learns pauses through `pauses` (the process's cache by
    default), trusting a read for `pause_freshness` seconds (None: the
    `PAUSE_FRESHNESS_MS` setting).
    """

    def __init__(
        self,
        table_name: str,
        name: str,
        rate: Rate,
        *,
        dynamodb: Any,
        clock: Clock = time.time,
        sleep: Sleeper = time.sleep,
        pauses: PauseCache | None = None,
        pause_freshness: float | None = None,
    ) -> None:
        self.table_name = table_name
        self.name = name
        self.rate = rate
        self.dynamodb = dynamodb
        self._clock = clock
        self._sleep = sleep
        self._pauses = PROCESS_PAUSES if pauses is None else pauses
        self._freshness_us = freshness_us(pause_freshness)

    def acquire(self, key: str, max_wait: float | None = None) -> float:
        """Take one request of `key`'s budget, sleeping until its slot; returns the seconds slept.

        BudgetWaitTooLong, with nothing reserved, when the slot is more than
        `max_wait` seconds away.
        """
        if self.rate.limit is None:
            return self._await_pause(key, max_wait)
        waited = 0.0
        while True:
            state = self._read(key)
            now = self._now()
            start, paused = self._slot(state, now)
            wait = (start - now) / MICROS
            if max_wait is not None and wait > max_wait:
                raise BudgetWaitTooLong(wait, paused=paused)
            if not self._reserve(key, state, start):
                continue  # another worker took this slot first: read again
            if wait <= 0:
                return waited
            self._sleep(wait)
            waited += wait
            if self._read(key).paused_until <= self._now():
                return waited  # our slot, and nobody paused the client meanwhile

    def _await_pause(self, key: str, max_wait: float | None) -> float:
        """An uncapped budget's acquire: wait out the client's pause as the process knows it."""
        slot = self._pause_slot(key)
        waited = 0.0
        while True:
            now = self._now()
            until = self._pauses.paused_until(
                slot, now, self._freshness_us, lambda: self._read(key).paused_until
            )
            wait = (until - now) / MICROS
            if wait <= 0:
                return waited
            if max_wait is not None and wait > max_wait:
                raise BudgetWaitTooLong(wait, paused=True)
            self._sleep(wait)
            waited += wait

    def pause(self, key: str, seconds: float) -> None:
        """Hold every request of `key` until `seconds` from now; a longer pause already set stays."""
        if seconds <= 0:
            return
        until = self._now() + math.ceil(seconds * MICROS)
        self._pauses.note(self._pause_slot(key), until)  # this process's workers hold at once
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(key),
                UpdateExpression="SET paused_until = :until, expires_at = :expires "
                "ADD version :one",
                ConditionExpression="attribute_not_exists(paused_until) OR paused_until < :until",
                ExpressionAttributeValues={
                    ":until": _number(until),
                    ":expires": _number(until // MICROS + IDLE_SECONDS),
                    ":one": _number(1),
                },
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def _now(self) -> int:
        return int(self._clock() * MICROS)

    def _slot(self, state: _State, now: int) -> tuple[int, bool]:
        """When the next request may go, and whether a pause (not the rate) decides it."""
        start, paused = now, False
        if state.paused_until > start:
            start, paused = state.paused_until, True
        earliest = state.tat - self.rate.tolerance_us
        if self.rate.limit is not None and earliest > start:
            start, paused = earliest, False
        return start, paused

    def _reserve(self, key: str, state: _State, start: int) -> bool:
        """Move `tat` past the slot at `start`; False when another worker wrote the item first."""
        tat = max(state.tat, start) + self.rate.interval_us
        values = {
            ":tat": _number(tat),
            ":expires": _number(max(tat, state.paused_until) // MICROS + IDLE_SECONDS),
            ":one": _number(1),
        }
        if state.version is None:
            condition = "attribute_not_exists(version)"
        else:
            condition = "version = :seen"
            values[":seen"] = _number(state.version)
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(key),
                UpdateExpression="SET tat = :tat, expires_at = :expires ADD version :one",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def _read(self, key: str) -> _State:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key=self._key(key), ConsistentRead=True
        ).get("Item")
        if not item:
            return _State()
        return _State(
            tat=int(item.get("tat", {}).get("N", "0")),
            paused_until=int(item.get("paused_until", {}).get("N", "0")),
            version=int(item["version"]["N"]) if "version" in item else None,
        )

    def _pause_slot(self, key: str) -> tuple[str, str, str, str]:
        """The item's place in the pause cache: one table of one endpoint (tests run several)."""
        endpoint = str(getattr(getattr(self.dynamodb, "meta", None), "endpoint_url", ""))
        return endpoint, self.table_name, self.name, validate_client_id(key)

    def _key(self, key: str) -> dict[str, dict[str, str]]:
        return {"client_id": {"S": validate_client_id(key)}, "budget": {"S": self.name}}


def _number(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _condition_failed(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) == "ConditionalCheckFailedException"
