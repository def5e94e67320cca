"""Shared helpers of the Connekta tests: configs, credentials, a clock and sleeper that never wait."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from local.sim.connekta import (
    DEFAULT_CONNI_KEY,
    DEFAULT_CONNI_TOKEN,
    DEFAULT_CUSTOM_QUERY,
    DEFAULT_ID_COMPANIA,
    ConnektaSim,
)
from local.sim.server import SimServer
from runtime.config import ClientConfig, SiesaCredentials
from runtime.http import SlidingWindowBudget
from runtime.siesa import SiesaSource, make_source
from runtime.siesa.connekta import ConnektaSiesaSource

KEY_CANARY = "ck-3b9e1d7c44a0"
TOKEN_CANARY = "eyJhbGciOiJIUzI1NiJ9.canary-token-51f0e2"


def connekta_settings(**overrides: Any) -> dict[str, Any]:
    """A valid `connekta` block for the simulator's defaults, with `overrides` applied."""
    settings: dict[str, Any] = {
        "query": DEFAULT_CUSTOM_QUERY,
        "id_compania": DEFAULT_ID_COMPANIA,
        "company_code": 1,
        "endpoint": "custom",
    }
    settings.update(overrides)
    return settings


def connekta_config(url: str, client_id: str = "cliente-c", **connekta: Any) -> ClientConfig:
    """A Kong client whose ERP speaks Connekta at `url`."""
    return ClientConfig.model_validate(
        {
            "client_id": client_id,
            "client_name": "Empresa C S.A.",
            "product_type": "kong",
            "siesa_api_url": url,
            "product_api_url": "https://cliente-c.kong.example/api/v1",
            "siesa_dialect": "connekta",
            "connekta": connekta_settings(**connekta),
        }
    )


def credentials(key: str = DEFAULT_CONNI_KEY, token: str = DEFAULT_CONNI_TOKEN) -> SiesaCredentials:
    """The Siesa secret of a Connekta client."""
    return SiesaCredentials(conni_key=SecretStr(key), conni_token=SecretStr(token))


class Sleeps:
    """A sleeper that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class FakeClock:
    """A monotonic clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def quiet_budget() -> SlidingWindowBudget:
    """A budget of its own (100 per minute) on a fake clock: never shared, never waits for real."""
    clock = FakeClock()
    return SlidingWindowBudget(100, 60.0, clock=clock, sleep=clock.sleep)


def source(
    url: str,
    *,
    creds: SiesaCredentials | None = None,
    page_size: int = 1000,
    connekta: dict[str, Any] | None = None,
    **options: Any,
) -> ConnektaSiesaSource:
    """A Connekta source through `make_source`, with its own budget and a sleeper that does not wait."""
    options.setdefault("budget", quiet_budget())
    options.setdefault("sleep", Sleeps())
    built = make_source(connekta_config(url, **(connekta or {})), creds or credentials(), **options)
    assert isinstance(built, ConnektaSiesaSource)
    built.page_size = page_size
    return built


@contextmanager
def serving(sim: ConnektaSim) -> Iterator[str]:
    """Run the simulator on an ephemeral loopback port; yields its base URL."""
    with SimServer(sim.wsgi_app) as server:
        yield server.url


def all_rows(src: SiesaSource, since: Any = None) -> list[dict[str, Any]]:
    """Every row of every page, in the order they came."""
    return [row for page in src.iter_pages(since) for row in page]


class SqlDatetime(datetime):
    """A datetime that prints itself as an injection, through every way it could be printed.

    The filter and the source must write a timestamp from its numbers, never its text.
    """

    def isoformat(self, *args: Any, **kwargs: Any) -> str:
        return "2025-01-01' OR '1'='1"

    def strftime(self, fmt: str) -> str:
        return "2025-01-01' OR '1'='1"

    def __str__(self) -> str:
        return "2025-01-01' OR '1'='1"

    def __format__(self, spec: str) -> str:
        return "2025-01-01' OR '1'='1"
