"""Retry policies: exponential backoff with full jitter, always with a stop.

Only what the error taxonomy marks transient (`TransientError`) is retried;
an `AuthenticationError` or a skip never is. A `RateLimited` error waits the
server's `Retry-After` when it sent one (`parse_retry_after` reads either of
the header's two forms). Limits are per HTTP status where the
design asks for it (500: retry up to 3 times) and always bounded by a total
attempt count and a total time.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from runtime.errors import AuthenticationError, RateLimited, TransientError

T = TypeVar("T")
logger = logging.getLogger(__name__)
Sleeper = Callable[[float], None]


class HttpFailure(Exception):
    """What went wrong on the wire, kept as the `__cause__` of the runtime error.

    It carries the HTTP status (None for a transport failure) so that a retry
    policy can count attempts per status without the runtime error classes
    growing fields.
    """

    def __init__(self, kind: str, status: int | None, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}" if status is not None else f"{kind}: {detail}")
        self.kind = kind
        self.status = status
        self.detail = detail


MAX_RETRY_AFTER_SECONDS = 3600.0


def parse_retry_after(
    value: str | None,
    *,
    now: datetime | None = None,
    cap: float = MAX_RETRY_AFTER_SECONDS,
) -> float | None:
    """Seconds to wait from a `Retry-After` value: whole seconds or an HTTP-date.

    A date in the past gives 0; anything unreadable gives None (the caller then
    falls back to its own backoff). The result never exceeds `cap`, so a
    server cannot park a Lambda for a day.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return min(float(text), cap)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return min(max((when - current).total_seconds(), 0.0), cap)


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind a runtime error, when there was one."""
    cause = exc.__cause__
    return cause.status if isinstance(cause, HttpFailure) else None


def is_retryable(exc: BaseException) -> bool:
    """Transient errors are retried; authentication errors never are."""
    return isinstance(exc, TransientError) and not isinstance(exc, AuthenticationError)


def _no_limits() -> Mapping[int, int]:
    return MappingProxyType({})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one HTTP call.

    `max_attempts` counts the first try. `attempts_by_status` caps the attempts
    that may fail with one status (500: 4 = the first try and 3 retries), so a
    500 after a 503 still gets its three retries within `max_attempts`. `max_seconds` bounds the time
    spent waiting between attempts and the wall time of the whole call.
    A `Retry-After` longer than `retry_after_cap` is not waited out here: the
    error is raised and the workflow's own retry waits instead.
    """

    max_attempts: int = 5
    max_seconds: float = 120.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_cap: float = 60.0
    attempts_by_status: Mapping[int, int] = field(default_factory=_no_limits)

    def retrying(self, sleep: Sleeper = time.sleep) -> Retrying:
        """A tenacity controller for one call under this policy."""
        jitter = wait_random_exponential(multiplier=self.backoff_base, max=self.backoff_cap)

        def wait(state: RetryCallState) -> float:
            exc = _exception(state)
            if isinstance(exc, RateLimited) and exc.retry_after is not None:
                return exc.retry_after
            return float(jitter(state))

        return Retrying(
            sleep=sleep,
            retry=retry_if_exception(is_retryable),
            wait=wait,
            stop=stop_any(
                stop_after_attempt(self.max_attempts),
                stop_before_delay(self.max_seconds),
                _PolicyStop(self),
            ),
            before_sleep=_log_retry,
            reraise=True,
        )

    def call(self, fn: Callable[[], T], *, sleep: Sleeper = time.sleep) -> T:
        """Run `fn` under this policy; the last error is raised as it was when retries end."""
        return self.retrying(sleep)(fn)


class _PolicyStop(stop_base):
    """Stops on a Retry-After too long to wait, a per-status cap, or the waiting budget."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.failures_by_status: Counter[int] = Counter()

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = _exception(retry_state)
        if isinstance(exc, RateLimited) and (exc.retry_after or 0.0) > self.policy.retry_after_cap:
            return True
        status = status_of(exc) if exc is not None else None
        if status is not None:
            self.failures_by_status[status] += 1
            limit = self.policy.attempts_by_status.get(status)
            if limit is not None and self.failures_by_status[status] >= limit:
                return True
        return retry_state.idle_for + retry_state.upcoming_sleep > self.policy.max_seconds


def _log_retry(state: RetryCallState) -> None:
    """A WARNING per retry (the design's log level for retries); messages hold no secrets."""
    logger.warning(
        "attempt %d failed (%s), retrying in %.1f s",
        state.attempt_number,
        _exception(state),
        state.upcoming_sleep,
    )


def _exception(state: RetryCallState) -> BaseException | None:
    outcome = state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None


# The design document's error matrix for product APIs: 429 waits Retry-After,
# 500 is retried up to 3 times, 503 and transport failures back off
# exponentially; the Lambda has 10 minutes, so one call waits at most 2.
PRODUCT_RETRY_POLICY = RetryPolicy(
    max_attempts=6,
    max_seconds=120.0,
    backoff_base=1.0,
    backoff_cap=30.0,
    retry_after_cap=60.0,
    attempts_by_status=MappingProxyType({500: 4}),
)

# The ERP: 500/503, timeouts, dropped connections and malformed pages back off
# exponentially; the extractor Lambda has 5 minutes.
SIESA_RETRY_POLICY = RetryPolicy(
    max_attempts=6,
    max_seconds=90.0,
    backoff_base=1.0,
    backoff_cap=20.0,
    retry_after_cap=60.0,
)
