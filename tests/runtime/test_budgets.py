"""The clients' shared request budgets in DynamoDB (moto): the rate, the race, the pause.

Every worker here has a boto3 client of its own, as separate invocations do;
the clock is fake and moves only when a worker sleeps on it, so the tests
are exact and never wait.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.sim.ratelimit import busiest_window
from runtime.budgets import BUDGETS_TABLE_SCHEMA, IDLE_SECONDS, Rate, TableBudget, rate_of
from runtime.config import ClientConfig
from runtime.http import BudgetWaitTooLong
from runtime.pause_cache import PauseCache

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from http_fixtures import FakeClock

TABLE = "siesa-integration-budgets"
START = 1_736_935_200.0  # 2025-01-15T10:00:00Z: budgets keep wall-clock times


@pytest.fixture
def table(aws_env: None) -> Iterator[None]:
    with mock_aws():
        own_client().create_table(TableName=TABLE, **BUDGETS_TABLE_SCHEMA)
        yield


def own_client() -> Any:
    """A boto3 DynamoDB client of its own (one per worker)."""
    return boto3.session.Session().client("dynamodb", region_name="us-east-1")


def item(client_id: str = "cliente-a", name: str = "siesa") -> dict[str, Any]:
    key = {"client_id": {"S": client_id}, "budget": {"S": name}}
    return dict(own_client().get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"])


def budget(rate: Rate, clock: FakeClock, client: Any = None, name: str = "siesa") -> TableBudget:
    return TableBudget(
        TABLE, name, rate, dynamodb=client or own_client(), clock=clock, sleep=clock.sleep
    )


# --- the rate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "burst", "refills"),
    [(100, 10, 90), (10, 1, 9), (20, 2, 18), (2, 1, 1), (1, 1, 1)],
)
def test_a_tenth_of_the_limit_goes_at_once_the_rest_at_the_refill_rate(
    limit: int, burst: int, refills: int
) -> None:
    rate = Rate(limit, 60.0)
    assert rate.burst == burst
    assert rate.guard == 1.0  # a second a minute, for the delay before the ERP counts a request
    assert rate.interval == pytest.approx(61.0 / refills)
    assert Rate(limit, 60.0, guard_seconds=0.0).interval == pytest.approx(60.0 / refills)
    assert Rate(None, 60.0).interval == 0.0
    for wrong in ({"limit": 0}, {"window_seconds": 0.0}, {"guard_seconds": -1.0}):
        with pytest.raises(ValueError):
            Rate(**{"limit": 5, "window_seconds": 60.0, **wrong})  # type: ignore[arg-type]


def test_the_client_config_sets_each_budgets_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    config = ClientConfig(
        client_id="cliente-a",
        client_name="A",
        product_type="kong",
        siesa_api_url="https://a.siesa.example",
        product_api_url="https://a.kong.example",
        product_requests_per_minute=600,
    )
    assert rate_of(config, "siesa") == Rate(100, 60.0)
    assert 60.0 / rate_of(config, "siesa").interval == pytest.approx(88.5, abs=0.1)
    assert rate_of(config, "product") == Rate(600, 60.0)
    monkeypatch.setenv("RATE_WINDOW_SECONDS", "2")
    assert rate_of(config.model_copy(update={"product_requests_per_minute": None}), "product") == (
        Rate(None, 2.0)
    )
    with pytest.raises(ValueError, match="unknown budget"):
        rate_of(config, "stock")


@pytest.mark.parametrize(("limit", "window"), [(100, 60.0), (10, 2.0), (3, 1.0)])
def test_workers_taking_in_turn_never_put_more_than_the_limit_in_any_window(
    table: None, limit: int, window: float
) -> None:
    clock = FakeClock(START)
    rate = Rate(limit, window, guard_seconds=0.0)  # even with no guard at all
    workers = [budget(rate, clock) for _ in range(4)]
    sent: list[float] = []
    for turn in range(4 * limit):
        workers[turn % 4].acquire("cliente-a")
        sent.append(clock.now)
    assert busiest_window(sent, window) <= limit
    assert sent[: rate.burst] == [START] * rate.burst, "the burst goes at once"
    # then one request per refill interval: 90% of the limit for a limit of 100
    expected = (len(sent) - rate.burst) * rate.interval
    assert sent[-1] - START == pytest.approx(expected, abs=1e-3)


def test_each_client_and_each_budget_has_its_own_item(table: None) -> None:
    clock = FakeClock(START)
    for client_id, name in (
        ("cliente-a", "siesa"),
        ("cliente-b", "siesa"),
        ("cliente-a", "product"),
    ):
        assert budget(Rate(1, 60.0), clock, name=name).acquire(client_id) == 0.0
    assert clock.sleeps == []
    stored = item()
    assert int(stored["tat"]["N"]) == (START + 61.0) * 1_000_000  # microseconds since the epoch
    assert int(stored["expires_at"]["N"]) == int(START + 61.0) + IDLE_SECONDS


# --- two workers racing for the last token --------------------------------------------------------


class RacingClient:
    """A worker's DynamoDB client; `before_write` runs once, between its read and its first write."""

    def __init__(self, before_write: Callable[[], None]) -> None:
        self.inner = own_client()
        self.before_write: Callable[[], None] | None = before_write
        self.refused = 0

    def get_item(self, **arguments: Any) -> Any:
        return self.inner.get_item(**arguments)

    def update_item(self, **arguments: Any) -> Any:
        if self.before_write is not None:
            other, self.before_write = self.before_write, None
            other()
        try:
            return self.inner.update_item(**arguments)
        except ClientError as exc:
            self.refused += exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            raise


def test_two_workers_racing_for_the_last_token_one_wins_the_other_takes_the_next_slot(
    table: None,
) -> None:
    clock = FakeClock(START)
    rate = Rate(20, 60.0)  # a bucket of 2
    budget(rate, clock).acquire("cliente-a")  # one token left
    winner = budget(rate, clock)
    won: list[float] = []
    racing = RacingClient(lambda: won.append(winner.acquire("cliente-a")))
    loser = budget(rate, clock, racing)

    waited = loser.acquire("cliente-a")

    assert won == [0.0], "the other worker wrote first and took the last token"
    assert racing.refused == 1, "the loser's conditional write was refused"
    assert waited == pytest.approx(rate.interval), "it read again and took the next slot"
    assert clock.sleeps == [pytest.approx(rate.interval)]
    assert int(item()["version"]["N"]) == 3  # three reservations, none lost or doubled


# --- pauses ---------------------------------------------------------------------------------------


def test_a_pause_holds_every_worker_of_the_client_and_only_that_client(table: None) -> None:
    clock = FakeClock(START)
    rate = Rate(100, 60.0)
    budget(rate, clock).pause("cliente-a", 30.0)
    budget(rate, clock).pause("cliente-a", 5.0)  # never cuts a longer pause short
    assert budget(rate, clock).acquire("cliente-b") == 0.0
    assert budget(rate, clock).acquire("cliente-a") == pytest.approx(30.0)
    assert budget(rate, clock).acquire("cliente-a") == 0.0
    assert int(item()["paused_until"]["N"]) == (START + 30.0) * 1_000_000


def test_a_pause_set_while_a_worker_waits_for_its_slot_holds_it_too(table: None) -> None:
    clock = FakeClock(START)
    rate = Rate(10, 60.0)  # a bucket of 1: the second request waits a refill interval
    first = budget(rate, clock)
    first.acquire("cliente-a")
    paused_by_another = [False]

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if not paused_by_another[0]:
            paused_by_another[0] = True
            first.pause("cliente-a", 20.0)  # a 429 answered to another worker meanwhile

    waiting = TableBudget(TABLE, "siesa", rate, dynamodb=own_client(), clock=clock, sleep=sleep)
    assert waiting.acquire("cliente-a") == pytest.approx(rate.interval + 20.0)


def test_a_budget_without_a_cap_only_reads_and_still_pauses(table: None) -> None:
    clock = FakeClock(START)
    written: list[str] = []

    class Counting(RacingClient):
        def update_item(self, **arguments: Any) -> Any:
            written.append(arguments["UpdateExpression"])
            return self.inner.update_item(**arguments)

    uncapped = budget(Rate(None, 60.0), clock, Counting(lambda: None), name="product")
    for _ in range(50):
        assert uncapped.acquire("cliente-a") == 0.0
    assert written == []
    uncapped.pause("cliente-a", 4.0)
    assert uncapped.acquire("cliente-a") == pytest.approx(4.0)
    assert len(written) == 1


def test_a_wait_past_the_limit_reserves_nothing(table: None) -> None:
    clock = FakeClock(START)
    rate = Rate(100, 60.0)
    worker = budget(rate, clock)
    worker.pause("cliente-a", 600.0)
    before = item()
    with pytest.raises(BudgetWaitTooLong) as held:
        worker.acquire("cliente-a", max_wait=60.0)
    assert held.value.paused and held.value.seconds == pytest.approx(600.0)
    assert item() == before and clock.sleeps == []
    worker.pause("cliente-b", 0.0)  # Retry-After: 0 writes nothing
    with pytest.raises(KeyError):
        item("cliente-b")


# --- an uncapped budget learns pauses through the process's cache ---------------------------------


class CountingReads:
    """A worker's DynamoDB client that counts its reads of the budget item (`delay`: each read's)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.inner = own_client()
        self.delay = delay
        self.gets = 0

    def get_item(self, **arguments: Any) -> Any:
        self.gets += 1
        if self.delay:
            time.sleep(self.delay)
        return self.inner.get_item(**arguments)

    def update_item(self, **arguments: Any) -> Any:
        return self.inner.update_item(**arguments)


def uncapped(
    clock: FakeClock, client: Any, pauses: PauseCache, freshness: float | None = 0.25
) -> TableBudget:
    """The product side's default budget: no cap, only pauses, in the process `pauses` stands for."""
    return TableBudget(
        TABLE,
        "product",
        Rate(None, 60.0),
        dynamodb=client,
        clock=clock,
        sleep=clock.sleep,
        pauses=pauses,
        pause_freshness=freshness,
    )


def test_a_pause_another_process_set_holds_this_one_within_the_freshness_bound(
    table: None,
) -> None:
    clock = FakeClock(START)
    reads = CountingReads()
    here = uncapped(clock, reads, PauseCache())
    elsewhere = uncapped(clock, own_client(), PauseCache())  # another invocation's process
    assert here.acquire("cliente-a") == 0.0
    elsewhere.pause("cliente-a", 5.0)  # a 429 answered there

    clock.now = START + 0.2
    assert here.acquire("cliente-a") == 0.0, "its read at START is trusted for 0.25 s"
    assert reads.gets == 1
    clock.now = START + 0.25
    assert here.acquire("cliente-a") == pytest.approx(4.75), "then it reads and holds"
    assert reads.gets == 3  # and reads once more when the pause is over: nobody extended it
    assert clock.now == pytest.approx(START + 5.0)


def test_this_process_own_429_holds_its_other_workers_at_once(table: None) -> None:
    clock = FakeClock(START)
    reads = CountingReads()
    process = PauseCache()
    got_429, other = uncapped(clock, reads, process), uncapped(clock, reads, process)
    assert got_429.acquire("cliente-a") == 0.0 and other.acquire("cliente-a") == 0.0
    got_429.pause("cliente-a", 3.0)
    assert other.acquire("cliente-a") == pytest.approx(3.0)
    assert reads.gets == 2, "no read was needed to hold it, one to go on after it"
    assert uncapped(clock, own_client(), PauseCache()).acquire("cliente-b") == 0.0


def test_an_uncapped_budget_reads_once_per_freshness_whatever_it_sends(
    table: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAUSE_FRESHNESS_MS", "1000")
    clock = FakeClock(START)
    reads = CountingReads()
    process = PauseCache()
    workers = [uncapped(clock, reads, process, freshness=None) for _ in range(4)]
    for turn in range(200):
        clock.now = START + turn * 0.01  # 200 requests over 2 s
        assert workers[turn % 4].acquire("cliente-a") == 0.0
    assert reads.gets == 2
    monkeypatch.setenv("PAUSE_FRESHNESS_MS", "0")  # the setting's floor: a read per request
    every = uncapped(clock, reads, process, freshness=None)
    for _ in range(3):
        every.acquire("cliente-a")
    assert reads.gets == 5


def test_threads_that_find_the_pause_stale_together_read_it_once(table: None) -> None:
    reads = CountingReads(delay=0.05)  # the read is slow: the other threads arrive meanwhile
    process = PauseCache()
    budget_ = TableBudget(
        TABLE, "product", Rate(None, 60.0), dynamodb=reads, pauses=process, pause_freshness=60.0
    )
    start = threading.Barrier(4, timeout=30)

    def worker(_: int) -> float:
        start.wait()
        return sum(budget_.acquire("cliente-a") for _ in range(25))

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(worker, range(4))) == [0.0] * 4
    assert reads.gets == 1


def test_a_capped_budget_takes_no_cached_knowledge(
    table: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAUSE_FRESHNESS_MS", "60000")  # however long the pause cache trusts a read
    clock = FakeClock(START)
    limit, window = 10, 2.0
    rate = Rate(limit, window, guard_seconds=0.0)
    reads = CountingReads()
    workers = [budget(rate, clock, reads) for _ in range(4)]
    sent: list[float] = []
    for turn in range(3 * limit):
        workers[turn % 4].acquire("cliente-a")
        sent.append(clock.now)
    assert busiest_window(sent, window) <= limit, "the bucket stays exact"
    assert reads.gets >= 3 * limit, "every request read the item"
    elsewhere = TableBudget(
        TABLE, "siesa", rate, dynamodb=own_client(), clock=clock, pauses=PauseCache()
    )
    elsewhere.pause("cliente-a", 30.0)  # another process's 429
    assert workers[0].acquire("cliente-a") == pytest.approx(30.0), "it holds a capped one at once"
