"""The shared HTTP plumbing: Retry-After, retry policies, the request budget, auth, latency."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from runtime.errors import (
    ProductAuthError,
    ProductRateLimited,
    ProductUnavailable,
    RecordRejected,
    SiesaUnavailable,
)
from runtime.http import (
    ApiCall,
    BudgetWaitTooLong,
    HttpFailure,
    RetryPolicy,
    SlidingWindowBudget,
    add_latency_listener,
    api_key_auth,
    bearer_auth,
    make_http_client,
    parse_retry_after,
    report_call,
)

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from http_fixtures import FakeClock, Sleeps

NOW = datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)


# --- Retry-After ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("7", 7.0),
        (" 120 ", 120.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-3", None),
    ],
)
def test_retry_after_in_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_retry_after_as_http_date_is_seconds_from_now() -> None:
    header = format_datetime(NOW + timedelta(seconds=45), usegmt=True)
    assert header.endswith("GMT")
    assert parse_retry_after(header, now=NOW) == 45.0


def test_retry_after_date_in_the_past_means_now() -> None:
    header = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(header, now=NOW) == 0.0


def test_retry_after_is_capped_in_both_forms() -> None:
    assert parse_retry_after("86400", now=NOW, cap=300) == 300
    far = format_datetime(NOW + timedelta(days=2), usegmt=True)
    assert parse_retry_after(far, now=NOW, cap=300) == 300


# --- retry policies -------------------------------------------------------------------------


def failing(errors: list[Exception], result: str = "ok") -> tuple[list[int], object]:
    """A callable that raises each error in turn, then returns `result`; and its call log."""
    calls: list[int] = []

    def call() -> str:
        calls.append(len(calls) + 1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return calls, call


def with_status(error: Exception, status: int) -> Exception:
    error.__cause__ = HttpFailure("status", status, "x")
    return error


def test_transient_errors_are_retried_until_success() -> None:
    sleeps = Sleeps()
    calls, call = failing([ProductUnavailable("a"), ProductUnavailable("b")])
    assert RetryPolicy(max_attempts=5).call(call, sleep=sleeps) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 3
    assert len(sleeps.calls) == 2


def test_retries_stop_after_max_attempts_and_raise_the_last_error() -> None:
    sleeps = Sleeps()
    calls, call = failing([SiesaUnavailable(f"attempt {n}") for n in range(10)])
    with pytest.raises(SiesaUnavailable, match="attempt 3"):
        RetryPolicy(max_attempts=4).call(call, sleep=sleeps)  # type: ignore[arg-type]
    assert len(calls) == 4
    assert len(sleeps.calls) == 3


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(max_attempts=8, max_seconds=10_000, backoff_base=1.0, backoff_cap=16.0)
    seen: list[list[float]] = []
    for _ in range(40):
        sleeps = Sleeps()
        _, call = failing([ProductUnavailable("x")] * 7)
        policy.call(call, sleep=sleeps)  # type: ignore[arg-type]
        seen.append(sleeps.calls)
    for attempt in range(7):
        ceiling = min(16.0, 2.0**attempt)
        waits = [run[attempt] for run in seen]
        assert all(0.0 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1, "full jitter draws a different wait each time"
    # Later attempts may wait longer than the first ever can.
    assert max(run[5] for run in seen) > 1.0


def test_authentication_and_skips_are_never_retried() -> None:
    for error in (ProductAuthError("401"), RecordRejected("P1", "bad")):
        sleeps = Sleeps()
        calls, call = failing([error])
        with pytest.raises(type(error)):
            RetryPolicy().call(call, sleep=sleeps)  # type: ignore[arg-type]
        assert len(calls) == 1
        assert sleeps.calls == []


def test_rate_limited_waits_exactly_retry_after() -> None:
    sleeps = Sleeps()
    _, call = failing(
        [ProductRateLimited("429", retry_after=7.0), ProductRateLimited("429", retry_after=2.0)]
    )
    assert RetryPolicy().call(call, sleep=sleeps) == "ok"  # type: ignore[arg-type]
    assert sleeps.calls == [7.0, 2.0]


def test_retry_after_longer_than_the_cap_is_left_to_the_workflow() -> None:
    sleeps = Sleeps()
    calls, call = failing([ProductRateLimited("429", retry_after=600.0)])
    with pytest.raises(ProductRateLimited) as caught:
        RetryPolicy(retry_after_cap=60.0).call(call, sleep=sleeps)  # type: ignore[arg-type]
    assert caught.value.retry_after == 600.0
    assert len(calls) == 1
    assert sleeps.calls == []


def test_attempts_can_be_capped_per_status() -> None:
    policy = RetryPolicy(max_attempts=6, attempts_by_status={500: 4})
    calls, call = failing([with_status(ProductUnavailable("500"), 500) for _ in range(10)])
    with pytest.raises(ProductUnavailable):
        policy.call(call, sleep=Sleeps())  # type: ignore[arg-type]
    assert len(calls) == 4  # the first try and 3 retries
    calls, call = failing([with_status(ProductUnavailable("503"), 503) for _ in range(10)])
    with pytest.raises(ProductUnavailable):
        policy.call(call, sleep=Sleeps())  # type: ignore[arg-type]
    assert len(calls) == 6


def test_a_status_cap_counts_only_failures_with_that_status() -> None:
    policy = RetryPolicy(max_attempts=6, attempts_by_status={500: 4})
    errors = [with_status(ProductUnavailable("503"), 503)] * 2 + [
        with_status(ProductUnavailable("500"), 500) for _ in range(3)
    ]
    calls, call = failing(errors)
    assert policy.call(call, sleep=Sleeps()) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 6


def test_total_waiting_is_bounded() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=100, max_seconds=30.0)
    calls, call = failing([ProductRateLimited("429", retry_after=10.0) for _ in range(100)])
    with pytest.raises(ProductRateLimited):
        policy.call(call, sleep=sleeps)  # type: ignore[arg-type]
    assert sum(sleeps.calls) <= 30.0
    assert len(calls) == 4


# --- the request budget ------------------------------------------------------------------------


def test_budget_lets_the_limit_through_then_waits_for_the_window() -> None:
    clock = FakeClock()
    budget = SlidingWindowBudget(100, 60.0, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        assert budget.acquire("cliente-a") == 0.0
    assert clock.sleeps == []
    waited = budget.acquire("cliente-a")
    assert waited == pytest.approx(60.0)
    assert budget.in_window("cliente-a") == 1  # the first 100 all left the window together


def test_budget_window_slides() -> None:
    clock = FakeClock()
    budget = SlidingWindowBudget(3, 60.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(10):
        budget.acquire("c")
        stamps.append(clock.now)
        clock.now += 7.0  # some work between requests
    for first, fourth in zip(stamps, stamps[3:], strict=False):
        assert fourth - first >= 60.0


def test_budget_is_per_key() -> None:
    clock = FakeClock()
    budget = SlidingWindowBudget(2, 60.0, clock=clock, sleep=clock.sleep)
    for key in ("cliente-a", "cliente-b", "cliente-a", "cliente-b"):
        assert budget.acquire(key) == 0.0
    assert clock.sleeps == []
    budget.acquire("cliente-a")
    assert clock.sleeps == [pytest.approx(60.0)]


def test_budget_refuses_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        SlidingWindowBudget(0, 60.0)
    with pytest.raises(ValueError):
        SlidingWindowBudget(None, 0.0)


def test_a_pause_holds_every_request_of_its_key_and_only_of_its_key() -> None:
    clock = FakeClock()
    budget = SlidingWindowBudget(None, 60.0, clock=clock, sleep=clock.sleep)
    budget.pause("cliente-a", 12.0)
    budget.pause("cliente-a", 3.0)  # a shorter pause never cuts a longer one short
    assert budget.acquire("cliente-b") == 0.0
    assert budget.acquire("cliente-a") == pytest.approx(12.0)
    assert budget.acquire("cliente-a") == 0.0
    budget.pause("cliente-a", 0.0)  # Retry-After: 0 pauses nothing
    assert budget.acquire("cliente-a") == 0.0


def test_a_wait_longer_than_allowed_takes_nothing_and_says_why() -> None:
    clock = FakeClock()
    budget = SlidingWindowBudget(1, 60.0, clock=clock, sleep=clock.sleep)
    budget.acquire("c")
    with pytest.raises(BudgetWaitTooLong) as spent:
        budget.acquire("c", max_wait=30.0)
    assert spent.value.seconds == pytest.approx(60.0) and not spent.value.paused
    budget.pause("c", 600.0)
    with pytest.raises(BudgetWaitTooLong, match="paused after a 429") as paused:
        budget.acquire("c", max_wait=60.0)
    assert paused.value.paused and budget.in_window("c") == 1
    assert clock.sleeps == []


# --- client, auth, redaction, latency ----------------------------------------------------------------


def test_client_defaults() -> None:
    with make_http_client() as client:
        assert client.timeout.connect == 5.0
        assert client.timeout.read == 30.0
        assert client.follow_redirects is False


def test_auth_objects_never_show_the_secret() -> None:
    secret = "tok-9f1c2e-unique"
    for auth in (bearer_auth(SecretStr(secret)), api_key_auth("X-API-Key", SecretStr(secret))):
        assert secret not in repr(auth)
        assert secret not in str(auth)
        request = httpx.Request("GET", "https://example.com/")
        flow = auth.auth_flow(request)
        sent = next(flow)
        assert secret in str(sent.headers.get("Authorization", "")) + str(
            sent.headers.get("X-API-Key", "")
        )


def test_latency_listeners_receive_calls_and_a_broken_one_does_not_break_others() -> None:
    got: list[ApiCall] = []
    extra: list[ApiCall] = []

    def broken(call: ApiCall) -> None:
        raise RuntimeError("listener bug")

    remove_broken = add_latency_listener(broken)
    remove_good = add_latency_listener(got.append)
    try:
        call = ApiCall("Kong", "POST /products/bulk", 200, "ok", 0.01, 1)
        report_call(call, extra.append)
    finally:
        remove_broken()
        remove_good()
    assert got == [call]
    assert extra == [call]
    report_call(call)
    assert got == [call], "a removed listener hears nothing more"
