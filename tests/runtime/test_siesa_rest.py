"""The Siesa REST source against loopback servers that follow siesa.openapi.yaml."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.config import ClientConfig, SiesaCredentials
from runtime.errors import (
    InvalidClientConfig,
    InvalidSecret,
    SiesaAuthError,
    SiesaRateLimited,
    SiesaResponseError,
    SiesaUnavailable,
)
from runtime.http import ApiCall, RetryPolicy, SlidingWindowBudget, make_http_client
from runtime.siesa import RestSiesaSource, SiesaSource, make_source

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from http_fixtures import (
    FakeClock,
    Reply,
    SiesaCatalogApp,
    Sleeps,
    http_response,
    quiet_budget,
    raw_server,
    serve,
    siesa_records,
)

TOKEN = "siesa-token-5b1d7e0a-unique"
PATH = SiesaCatalogApp.PATH
PAGE_OK = {
    "data": [{"f_codigo": "A1", "f_fecha_modificacion": "2025-01-01 00:00:00"}],
    "pagination": {"page": 1, "limit": 1000, "total_records": 1, "total_pages": 1},
}


def config(url: str, **extra: Any) -> ClientConfig:
    return ClientConfig(
        client_id=extra.pop("client_id", "cliente-a"),
        client_name="Empresa A S.A.",
        product_type="kong",
        siesa_api_url=url + "/api/v1",
        product_api_url="https://cliente-a.kong.example/api/v1",
        **extra,
    )


def source(url: str, **options: Any) -> SiesaSource:
    """A source with its own budget and a sleeper that does not wait."""
    options.setdefault("budget", quiet_budget())
    options.setdefault("sleep", Sleeps())
    return make_source(
        config(url, **options.pop("config", {})), SiesaCredentials(api_key=TOKEN), **options
    )


def keys(src: SiesaSource, pages: list[list[dict[str, Any]]]) -> list[str]:
    return [src.record_key(r) for page in pages for r in page]


@pytest.fixture
def catalog() -> Iterator[tuple[SiesaCatalogApp, str]]:
    app = SiesaCatalogApp(siesa_records(2500), TOKEN)
    with serve(app) as url:
        yield app, url


# --- paging ------------------------------------------------------------------------------------


def test_pages_through_2500_records_in_pages_of_1000(catalog: tuple[SiesaCatalogApp, str]) -> None:
    app, url = catalog
    with source(url) as src:
        pages = list(src.iter_pages(None))
    assert [len(p) for p in pages] == [1000, 1000, 500]
    got = keys(src, pages)
    assert len(set(got)) == 2500
    assert got[0] == "P00000" and got[-1] == "P02499"
    sent = app.requests_to("GET", PATH)
    assert [(s.args["page"], s.args["limit"]) for s in sent] == [
        ("1", "1000"),
        ("2", "1000"),
        ("3", "1000"),
    ]
    assert all(s.headers["Authorization"] == f"Bearer {TOKEN}" for s in sent)
    assert all("modified_since" not in s.args for s in sent)


def test_incremental_sync_sends_modified_since_with_offset(
    catalog: tuple[SiesaCatalogApp, str],
) -> None:
    app, url = catalog
    since = datetime(2025, 1, 2, 23, 0, 0, tzinfo=UTC)  # 18:00 in Bogota
    with source(url) as src:
        pages = list(src.iter_pages(since))
    sent = app.requests_to("GET", PATH)
    assert sent[0].args["modified_since"] == "2025-01-02T23:00:00+00:00"
    # records are one minute apart from 2025-01-01 08:00 Bogota: 18:00 next day is record 2040
    assert keys(src, pages)[0] == "P02040"
    assert len(keys(src, pages)) == 2500 - 2040


def test_a_naive_modified_since_is_read_in_the_clients_zone(
    catalog: tuple[SiesaCatalogApp, str],
) -> None:
    app, url = catalog
    with source(url) as src:
        pages = list(src.iter_pages(datetime(2025, 1, 2, 18, 0, 0, 123456)))
    assert app.requests_to("GET", PATH)[0].args["modified_since"] == "2025-01-02T18:00:00-05:00"
    assert keys(src, pages)[0] == "P02040"


def test_an_empty_page_ends_paging_even_when_total_pages_says_more() -> None:
    app = SiesaCatalogApp([], TOKEN)
    app.script(
        "GET",
        PATH,
        Reply(200, PAGE_OK | {"pagination": {**PAGE_OK["pagination"], "total_pages": 5}}),
        Reply(
            200,
            {
                "data": [],
                "pagination": {"page": 2, "limit": 1000, "total_records": 1, "total_pages": 5},
            },
        ),
    )
    with serve(app) as url, source(url) as src:
        pages = list(src.iter_pages(None))
    assert keys(src, pages) == ["A1"]
    assert len(app.requests_to("GET", PATH)) == 2


def test_record_key_and_modified() -> None:
    with source("http://127.0.0.1:9") as src:
        assert src.record_key({"f_codigo": " 000123 ", "f_fecha_modificacion": "x"}) == "000123"
        assert (
            src.record_modified({"f_fecha_modificacion": "2025-01-15T10:00:00"})
            == "2025-01-15 10:00:00"
        )
        stamps = ["2025-01-15 10:00:00", "2025-01-15T09:59:59.5", "2024-12-31 23:59:59"]
        ordered = sorted(stamps, key=lambda s: src.record_modified({"f_fecha_modificacion": s}))
        assert ordered == ["2024-12-31 23:59:59", "2025-01-15T09:59:59.5", "2025-01-15 10:00:00"]
        for bad in ({}, {"f_codigo": "   "}, {"f_codigo": None}):
            with pytest.raises(SiesaResponseError, match="f_codigo"):
                src.record_key(bad)


# --- the error matrix --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_stop_at_once(status: int) -> None:
    app = SiesaCatalogApp([], TOKEN)
    app.script("GET", PATH, Reply(status, {"error": "token expired"}))
    sleeps = Sleeps()
    with (
        serve(app) as url,
        source(url, sleep=sleeps) as src,
        pytest.raises(SiesaAuthError) as caught,
    ):
        list(src.iter_pages(None))
    assert f"answered {status}: token expired" in str(caught.value)
    assert len(app.requests_to("GET", PATH)) == 1
    assert sleeps.calls == []


def test_429_waits_retry_after_in_seconds() -> None:
    app = SiesaCatalogApp(siesa_records(3), TOKEN)
    app.script("GET", PATH, Reply(429, {"error": "slow down"}, {"Retry-After": "17"}))
    sleeps = Sleeps()
    with serve(app) as url, source(url, sleep=sleeps) as src:
        pages = list(src.iter_pages(None))
    assert len(keys(src, pages)) == 3
    assert sleeps.calls == [17.0]


def test_429_waits_retry_after_as_an_http_date() -> None:
    app = SiesaCatalogApp(siesa_records(3), TOKEN)
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=40), usegmt=True)
    app.script("GET", PATH, Reply(429, {"error": "slow down"}, {"Retry-After": when}))
    sleeps = Sleeps()
    with serve(app) as url, source(url, sleep=sleeps) as src:
        pages = list(src.iter_pages(None))
    assert len(keys(src, pages)) == 3
    assert len(sleeps.calls) == 1
    assert 35.0 <= sleeps.calls[0] <= 40.0


def test_429_without_end_raises_rate_limited_with_retry_after() -> None:
    app = SiesaCatalogApp([], TOKEN)
    app.handle("GET", PATH, lambda r: Reply(429, {"error": "slow down"}, {"Retry-After": "5"}))
    policy = RetryPolicy(max_attempts=3)
    with (
        serve(app) as url,
        source(url, policy=policy) as src,
        pytest.raises(SiesaRateLimited) as caught,
    ):
        list(src.iter_pages(None))
    assert caught.value.retry_after == 5.0
    assert len(app.requests_to("GET", PATH)) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_succeed(status: int) -> None:
    app = SiesaCatalogApp(siesa_records(3), TOKEN)
    app.script("GET", PATH, Reply(status, {"error": "boom"}), Reply(status, {"error": "boom"}))
    sleeps = Sleeps()
    with serve(app) as url, source(url, sleep=sleeps) as src:
        pages = list(src.iter_pages(None))
    assert len(keys(src, pages)) == 3
    assert len(app.requests_to("GET", PATH)) == 3
    assert len(sleeps.calls) == 2


def test_server_errors_that_persist_end_as_siesa_unavailable() -> None:
    app = SiesaCatalogApp([], TOKEN)
    app.handle("GET", PATH, lambda r: Reply(503, {"error": "maintenance"}))
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, backoff_base=1.0, backoff_cap=8.0)
    with (
        serve(app) as url,
        source(url, sleep=sleeps, policy=policy) as src,
        pytest.raises(SiesaUnavailable, match="answered 503: maintenance"),
    ):
        list(src.iter_pages(None))
    assert len(app.requests_to("GET", PATH)) == 4
    assert [s <= c for s, c in zip(sleeps.calls, (1.0, 2.0, 4.0), strict=True)] == [True] * 3


def test_a_page_failing_midway_is_retried_without_restarting(
    catalog: tuple[SiesaCatalogApp, str],
) -> None:
    app, url = catalog
    pages_seen: list[list[dict[str, Any]]] = []
    with source(url) as src:
        iterator = src.iter_pages(None)
        pages_seen.append(next(iterator))
        app.script("GET", PATH, Reply(500, {"error": "boom"}))
        pages_seen.extend(iterator)
    assert len(set(keys(src, pages_seen))) == 2500
    assert [s.args["page"] for s in app.requests_to("GET", PATH)] == ["1", "2", "2", "3"]


def test_other_client_errors_stop_without_retry() -> None:
    app = SiesaCatalogApp([], TOKEN)
    app.script("GET", PATH, Reply(400, {"error": "bad request", "detail": "limit out of range"}))
    sleeps = Sleeps()
    with (
        serve(app) as url,
        source(url, sleep=sleeps) as src,
        pytest.raises(SiesaResponseError, match="400: bad request: limit out of range"),
    ):
        list(src.iter_pages(None))
    assert sleeps.calls == []


def test_malformed_json_is_retried_then_succeeds() -> None:
    app = SiesaCatalogApp(siesa_records(2), TOKEN)
    app.script("GET", PATH, Reply(200, '{"data": [ {"f_codigo": '), Reply(200, {"data": "nope"}))
    with serve(app) as url, source(url) as src:
        pages = list(src.iter_pages(None))
    assert keys(src, pages) == ["P00000", "P00001"]
    assert len(app.requests_to("GET", PATH)) == 3


def test_malformed_pages_that_persist_end_as_siesa_unavailable() -> None:
    app = SiesaCatalogApp([], TOKEN)
    app.handle("GET", PATH, lambda r: Reply(200, "<html>proxy error</html>"))
    with (
        serve(app) as url,
        source(url, policy=RetryPolicy(max_attempts=2)) as src,
        pytest.raises(SiesaUnavailable, match="malformed body: not valid JSON"),
    ):
        list(src.iter_pages(None))


def test_dropped_connections_are_retried() -> None:
    good = http_response(200, PAGE_OK)
    with raw_server("drop", "drop", good) as url, source(url + "") as src:
        pages = list(src.iter_pages(None))
    assert keys(src, pages) == ["A1"]


def test_dropped_connections_that_persist_end_as_siesa_unavailable() -> None:
    with (
        raw_server("drop") as url,
        source(url, policy=RetryPolicy(max_attempts=3)) as src,
        pytest.raises(SiesaUnavailable, match="connection failed"),
    ):
        list(src.iter_pages(None))


def test_timeouts_are_retried_then_end_as_siesa_unavailable() -> None:
    calls: list[ApiCall] = []
    http = make_http_client(timeout=httpx.Timeout(0.2, connect=1.0))
    with raw_server("silent", "silent", http_response(200, PAGE_OK)) as url:
        with source(url, http=http, on_latency=calls.append) as src:
            assert keys(src, list(src.iter_pages(None))) == ["A1"]
        assert [c.outcome for c in calls] == ["timeout", "timeout", "ok"]
    with (
        raw_server("silent") as url,
        source(url, http=http, policy=RetryPolicy(max_attempts=2)) as src,
        pytest.raises(SiesaUnavailable, match="timed out"),
    ):
        list(src.iter_pages(None))
    http.close()


# --- the request budget --------------------------------------------------------------------------------


def test_the_budget_keeps_each_client_under_100_requests_a_minute() -> None:
    app = SiesaCatalogApp(siesa_records(250), TOKEN)
    clock = FakeClock()
    budget = SlidingWindowBudget(100, 60.0, clock=clock, sleep=clock.sleep)
    stamps: list[float] = []
    with serve(app) as url:
        src = RestSiesaSource(
            config(url),
            SiesaCredentials(api_key=TOKEN),
            budget=budget,
            page_size=1,
            on_latency=lambda call: stamps.append(clock.now),
        )
        with src:
            assert len(keys(src, list(src.iter_pages(None)))) == 250
    assert len(stamps) == 250
    assert len(clock.sleeps) == 2, "the 101st and 201st requests wait for the window"
    for first, hundred_first in zip(stamps, stamps[100:], strict=False):
        assert hundred_first - first >= 60.0


def test_the_budget_is_shared_by_sources_of_the_same_client() -> None:
    app = SiesaCatalogApp(siesa_records(1), TOKEN)
    clock = FakeClock()
    budget = SlidingWindowBudget(2, 60.0, clock=clock, sleep=clock.sleep)
    with serve(app) as url:
        for client_id in ("cliente-a", "cliente-a", "cliente-b", "cliente-a"):
            src = make_source(
                config(url, client_id=client_id), SiesaCredentials(api_key=TOKEN), budget=budget
            )
            with src:
                list(src.iter_pages(None))
    assert clock.sleeps == [pytest.approx(60.0)], "only cliente-a's third request waits"


# --- construction, latency, secrets ----------------------------------------------------------------------


def test_unsupported_dialect_and_missing_key_are_refused_clearly() -> None:
    # A dialect no source is registered for (an item written by a newer release, say).
    odd = config("http://127.0.0.1:9").model_copy(update={"siesa_dialect": "soap"})
    with pytest.raises(InvalidClientConfig, match=r"'soap'.*supported: connekta, rest"):
        make_source(odd, SiesaCredentials(api_key=TOKEN))
    with pytest.raises(InvalidSecret, match="siesa-integration/cliente-a/siesa has no api_key"):
        make_source(config("http://127.0.0.1:9"), SiesaCredentials())


def test_every_call_reports_its_latency(catalog: tuple[SiesaCatalogApp, str]) -> None:
    _, url = catalog
    calls: list[ApiCall] = []
    with source(url, on_latency=calls.append) as src:
        list(src.iter_pages(None))
    assert [(c.api, c.operation, c.status, c.outcome) for c in calls] == [
        ("Siesa", "GET /api/v1/inventory/products", 200, "ok")
    ] * 3
    assert all(c.seconds >= 0 for c in calls)


def test_no_error_or_log_line_carries_the_token(caplog: pytest.LogCaptureFixture) -> None:
    """Every failure, including a server that echoes the token back, keeps it out of the text."""
    caplog.set_level(logging.DEBUG)
    echo = f"bad token {TOKEN} for Authorization: Bearer {TOKEN}"
    app = SiesaCatalogApp([], TOKEN)
    app.script(
        "GET",
        PATH,
        Reply(401, {"error": echo}),
        Reply(400, {"error": echo}),
        Reply(503, {"error": echo}),
        Reply(429, {"error": echo}, {"Retry-After": "1"}),
        Reply(200, echo),
    )
    errors: list[BaseException] = []
    with serve(app) as url:
        for _ in range(5):
            with source(url, policy=RetryPolicy(max_attempts=1)) as src:
                try:
                    list(src.iter_pages(None))
                except Exception as exc:
                    errors.append(exc)
    with raw_server("drop") as url, source(url, policy=RetryPolicy(max_attempts=1)) as src:
        try:
            list(src.iter_pages(None))
        except Exception as exc:
            errors.append(exc)
    assert [type(e) for e in errors] == [
        SiesaAuthError,
        SiesaResponseError,
        SiesaUnavailable,
        SiesaRateLimited,
        SiesaUnavailable,
        SiesaUnavailable,
    ]
    for error in errors:
        text = "".join(traceback.format_exception(error)) + repr(error) + repr(error.__cause__)
        assert TOKEN not in text
    assert "[redacted]" in str(errors[0])
    with serve(app) as url, source(url) as src:
        app.script("GET", PATH, Reply(503, {"error": echo}), Reply(200, PAGE_OK))
        assert keys(src, list(src.iter_pages(None))) == ["A1"]
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 1
    assert "answered 503" in retries[0]
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
