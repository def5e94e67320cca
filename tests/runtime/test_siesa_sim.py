"""The Siesa REST source against the platform's Siesa simulator (local/sim)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.sim import DEFAULT_SIESA_API_KEY, SiesaSim, SimServer, generate_catalog
from local.sim.catalog import record_key as sim_record_key
from runtime.config import ClientConfig, SiesaCredentials
from runtime.errors import SiesaAuthError, SiesaUnavailable
from runtime.http import RetryPolicy, SlidingWindowBudget, make_http_client
from runtime.siesa import RestSiesaSource, SiesaSource, make_source

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from http_fixtures import FakeClock, Sleeps, quiet_budget


def source(server: SimServer, **options: Any) -> SiesaSource:
    config = ClientConfig(
        client_id="cliente-a",
        client_name="Empresa A",
        product_type="kong",
        siesa_api_url=f"{server.url}/api/v1",
        product_api_url="https://cliente-a.kong.example/api/v1",
    )
    options.setdefault("budget", quiet_budget())
    options.setdefault("sleep", Sleeps())
    return make_source(config, SiesaCredentials(api_key=DEFAULT_SIESA_API_KEY), **options)


def every_record(src: SiesaSource, since: datetime | None = None) -> list[dict[str, Any]]:
    return [record for page in src.iter_pages(since) for record in page]


@pytest.fixture(scope="module")
def catalog_2500() -> Any:
    return generate_catalog(2500, seed=7)


@pytest.fixture
def sim(catalog_2500: Any) -> Iterator[tuple[SiesaSim, SimServer]]:
    simulator = SiesaSim(catalog_2500)
    with SimServer(simulator.wsgi_app) as server:
        yield simulator, server


def test_reads_the_whole_simulated_catalog(sim: tuple[SiesaSim, SimServer]) -> None:
    simulator, server = sim
    with source(server) as src:
        records = every_record(src)
    assert len(records) == 2500
    assert {src.record_key(r) for r in records} == {
        sim_record_key(r) for r in simulator.catalog.records()
    }
    modified = [src.record_modified(r) for r in records]
    assert modified == sorted(modified), "the ERP serves in f_fecha_modificacion order"
    queries = [
        dict(part.split("=") for part in e.query.split("&")) for e in simulator.log.entries()
    ]
    assert queries == [{"page": str(n), "limit": "1000"} for n in (1, 2, 3)]


def test_incremental_sync_reads_only_what_changed() -> None:
    catalog = generate_catalog(300, seed=5)
    changed = [sim_record_key(r) for r in catalog.records()[10:15]]
    catalog.modify(changed, now=datetime(2031, 3, 1, 9, 30, 0))
    with SimServer(SiesaSim(catalog).wsgi_app) as server, source(server) as src:
        records = every_record(src, datetime(2031, 3, 1, 9, 0, 0))
    assert sorted(src.record_key(r) for r in records) == sorted(changed)


def test_survives_every_transient_fault_of_the_simulator(sim: tuple[SiesaSim, SimServer]) -> None:
    simulator, server = sim
    simulator.faults.set(
        error_503_next=1,
        error_500_next=1,
        rate_limit_next=1,
        retry_after=3,
        malformed_json_next=1,
        drop_connection_next=1,
    )
    sleeps = Sleeps()
    with source(server, sleep=sleeps) as src:
        records = every_record(src)
    assert len({src.record_key(r) for r in records}) == 2500
    assert 3.0 in sleeps.calls, "the 429 waited its Retry-After"
    assert simulator.faults.snapshot()["injected"] == {
        "error_503": 1,
        "error_500": 1,
        "rate_limit": 1,
        "malformed_json": 1,
        "drop_connection": 1,
    }


def test_honours_an_http_date_retry_after(sim: tuple[SiesaSim, SimServer]) -> None:
    simulator, server = sim
    simulator.faults.set(rate_limit_next=1, retry_after=20, retry_after_format="http-date")
    sleeps = Sleeps()
    with source(server, sleep=sleeps) as src:
        assert len(every_record(src)) == 2500
    assert len(sleeps.calls) == 1
    assert 17.0 <= sleeps.calls[0] <= 20.0


def test_a_stalled_response_times_out_and_is_retried(sim: tuple[SiesaSim, SimServer]) -> None:
    simulator, server = sim
    simulator.faults.set(timeout_next=1, timeout_delay_s=2.0)
    http = make_http_client(timeout=httpx.Timeout(0.3, connect=1.0))
    with source(server, http=http) as src:
        assert len(every_record(src)) == 2500
    http.close()


def test_faults_that_persist_end_as_siesa_unavailable(sim: tuple[SiesaSim, SimServer]) -> None:
    simulator, server = sim
    simulator.faults.set(error_503_next=10)
    with source(server, policy=RetryPolicy(max_attempts=3)) as src, pytest.raises(SiesaUnavailable):
        every_record(src)
    assert len(simulator.log.entries()) == 3


def test_a_credential_revoked_mid_run_stops_at_once(sim: tuple[SiesaSim, SimServer]) -> None:
    simulator, server = sim
    simulator.faults.set(revoke_from_request=2)
    pages: list[list[dict[str, Any]]] = []
    with source(server) as src, pytest.raises(SiesaAuthError, match="answered 401"):
        for page in src.iter_pages(None):
            pages.append(page)
    assert [len(p) for p in pages] == [1000]
    assert len(simulator.log.entries()) == 2


def test_the_budget_keeps_the_simulators_rate_limit_from_ever_answering_429() -> None:
    clock = FakeClock()
    simulator = SiesaSim(
        generate_catalog(1500, seed=2), rate_limit=100, rate_window_s=60.0, clock=clock
    )
    budget = SlidingWindowBudget(100, 60.0, clock=clock, sleep=clock.sleep)
    with SimServer(simulator.wsgi_app) as server:
        src = RestSiesaSource(
            ClientConfig(
                client_id="cliente-a",
                client_name="Empresa A",
                product_type="kong",
                siesa_api_url=f"{server.url}/api/v1",
                product_api_url="https://cliente-a.kong.example/api/v1",
            ),
            SiesaCredentials(api_key=DEFAULT_SIESA_API_KEY),
            budget=budget,
            sleep=Sleeps(),
            page_size=10,
        )
        with src:
            assert len(every_record(src)) == 1500
    statuses = [entry.status for entry in simulator.log.entries()]
    assert len(statuses) == 150
    assert set(statuses) == {200}
    assert clock.sleeps == [pytest.approx(60.0)]


def test_a_record_that_moves_while_paging_is_seen_twice_and_the_newest_copy_sorts_last(
    sim: tuple[SiesaSim, SimServer],
) -> None:
    simulator, server = sim
    simulator.faults.set(move_record_after_page=1)
    with source(server) as src:
        records = every_record(src)
    moved = simulator.faults.snapshot()["events"][0]["id"]
    copies = [r for r in records if src.record_key(r) == moved]
    assert len(copies) >= 2
    newest = max(copies, key=src.record_modified)
    assert src.record_modified(newest) == src.record_modified(copies[-1])
    assert (
        newest["f_fecha_modificacion"]
        == simulator.faults.snapshot()["events"][0]["f_fecha_modificacion"]
    )
    # the record that shifted onto the page already read is read by a second pass
    assert {src.record_key(r) for r in records} == {
        src.record_key(r) for r in simulator.catalog.records()
    }
