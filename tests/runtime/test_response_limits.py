"""A response too big, one that drips, and a page longer than asked: cut off with a named error.

Real loopback servers (local.sim.server.SimServer) send the bodies; the cap and
the deadline are set small here so the tests stay fast, and retries are off
so each test sees its one attempt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr

from local.sim.server import STOP_EVENT_KEY, SimServer
from runtime.config import ClientConfig, SiesaCredentials
from runtime.errors import (
    ProductResponseTooLarge,
    ProductResponseTooSlow,
    ResponseTooLarge,
    ResponseTooSlow,
    SiesaResponseTooLarge,
    SiesaResponseTooSlow,
    SiesaUnavailable,
)
from runtime.http import RetryPolicy, SlidingWindowBudget, bearer_auth
from runtime.http.limits import ResponseLimits
from runtime.siesa import make_source

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

from runtime.adapters.product_api import ProductApi

ONCE = RetryPolicy(max_attempts=1)
MEGABYTE = 1024 * 1024
CAP = 256 * 1024
DEADLINE = 2
App = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


def fifty_megabytes(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """50 MB of a JSON array, streamed lazily without a Content-Length."""
    start_response("200 OK", [("Content-Type", "application/json")])

    def body() -> Iterator[bytes]:
        yield b'{"data": ["'
        for _ in range(50):
            yield b"x" * MEGABYTE
        yield b'"]}'

    return body()


def declares_fifty_megabytes(
    environ: WSGIEnvironment, start_response: StartResponse
) -> Iterable[bytes]:
    """A Content-Length of 50 MB: refused before a byte of the body is read."""
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(50 * MEGABYTE))]
    )
    return iter([b"{}"])


def drips(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """A valid page, one byte a second (every read returns well within any read timeout)."""
    start_response("200 OK", [("Content-Type", "application/json")])
    stop = environ[STOP_EVENT_KEY]

    def body() -> Iterator[bytes]:
        for byte in json.dumps({"data": [], "pagination": {"total_pages": 0}}).encode():
            yield bytes([byte])
            if stop.wait(1.0):
                return

    return body()


def too_long_page(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Five records whatever `limit` asked for."""
    start_response("200 OK", [("Content-Type", "application/json")])
    records = [{"f_codigo": f"P{n}", "f_fecha_modificacion": "2025-01-15"} for n in range(5)]
    page = {"data": records, "pagination": {"total_pages": 1, "total_records": 5}}
    return [json.dumps(page).encode()]


@contextmanager
def serving(app: App) -> Iterator[str]:
    with SimServer(app) as server:
        yield server.url


def siesa_source(url: str, **options: Any) -> Any:
    config = ClientConfig(
        client_id="cliente-a",
        client_name="A",
        product_type="kong",
        siesa_api_url=url,
        product_api_url="https://kong.example.com",
    )
    credentials = SiesaCredentials(api_key=SecretStr("siesa-key-for-limits"))
    return make_source(
        config,
        credentials,
        policy=ONCE,
        budget=SlidingWindowBudget(1000, 60.0),
        **options,
    )


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> ResponseLimits:
    """The cap and deadline every API client of the test reads from the environment."""
    monkeypatch.setenv("MAX_RESPONSE_BYTES", str(CAP))
    monkeypatch.setenv("REQUEST_DEADLINE_SECONDS", str(DEADLINE))
    return ResponseLimits.from_settings()


@pytest.mark.parametrize(
    ("app", "error", "kind", "said"),
    [
        (fifty_megabytes, SiesaResponseTooLarge, ResponseTooLarge, f"cap of {CAP} bytes"),
        (declares_fifty_megabytes, SiesaResponseTooLarge, ResponseTooLarge, f"cap of {CAP} bytes"),
        (drips, SiesaResponseTooSlow, ResponseTooSlow, f"within {DEADLINE} s"),
    ],
)
def test_a_huge_or_dripping_siesa_page_is_cut_off_with_a_named_transient_error(
    app: App,
    error: type[Exception],
    kind: type[Exception],
    said: str,
    small_limits: ResponseLimits,
) -> None:
    began = time.monotonic()
    with serving(app) as url, siesa_source(url) as source, pytest.raises(error) as caught:
        list(source.iter_pages(None))
    assert isinstance(caught.value, SiesaUnavailable) and isinstance(caught.value, kind)
    assert caught.value.action == "retry"  # type: ignore[attr-defined]
    assert said in str(caught.value)
    assert time.monotonic() - began < DEADLINE + 3  # the drip would take a minute


class _Product(ProductApi):
    pass


def _product_api(limits: ResponseLimits) -> ProductApi:
    return _Product(
        api_name="Kong",
        auth=bearer_auth(SecretStr("kong-key-for-limits")),
        policy=ONCE,
        limits=limits,
    )


def test_the_product_side_is_cut_off_the_same_way() -> None:
    limits = ResponseLimits(max_bytes=CAP, deadline_seconds=DEADLINE)
    api = _product_api(limits)
    try:
        with serving(fifty_megabytes) as url, pytest.raises(ProductResponseTooLarge) as large:
            api.call("GET", f"{url}/zones")
        with serving(drips) as url, pytest.raises(ProductResponseTooSlow) as slow:
            api.call("GET", f"{url}/zones")
    finally:
        api.close()
    assert isinstance(large.value, ResponseTooLarge) and isinstance(slow.value, ResponseTooSlow)


def test_a_page_longer_than_the_limit_asked_for_is_refused() -> None:
    with (
        serving(too_long_page) as url,
        siesa_source(url, page_size=2) as source,
        pytest.raises(SiesaUnavailable, match="holds 5 records, more than the limit of 2"),
    ):
        list(source.iter_pages(None))


def test_a_page_within_the_limit_is_read() -> None:
    with serving(too_long_page) as url, siesa_source(url, page_size=5) as source:
        pages = list(source.iter_pages(None))
    assert [len(page) for page in pages] == [5]
