"""Fixtures for the simulator tests: running simulators on loopback, an authenticated client each."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.sim import (
    DEFAULT_KONG_API_KEY,
    DEFAULT_SIESA_API_KEY,
    DEFAULT_WMS_API_KEY,
    KongSim,
    SiesaSim,
    SimServer,
    WmsSim,
    generate_catalog,
)

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from sim_helpers import FakeClock

# The clients below talk plain HTTP on loopback: verify=False only skips loading a CA bundle.


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def siesa_sim() -> SiesaSim:
    return SiesaSim(generate_catalog(250, seed=11))


@pytest.fixture
def siesa_server(siesa_sim: SiesaSim) -> Iterator[SimServer]:
    with SimServer(siesa_sim.wsgi_app) as server:
        yield server


@pytest.fixture
def siesa(siesa_server: SimServer) -> Iterator[httpx.Client]:
    """An authenticated client at the Siesa base URL ({server}/api/v1)."""
    headers = {"Authorization": f"Bearer {DEFAULT_SIESA_API_KEY}"}
    with httpx.Client(
        base_url=f"{siesa_server.url}/api/v1", headers=headers, verify=False
    ) as client:
        yield client


@pytest.fixture
def kong_sim() -> KongSim:
    return KongSim()


@pytest.fixture
def kong_server(kong_sim: KongSim) -> Iterator[SimServer]:
    with SimServer(kong_sim.wsgi_app) as server:
        yield server


@pytest.fixture
def kong(kong_server: SimServer) -> Iterator[httpx.Client]:
    """An authenticated client at the Kong base URL ({server}/api/v1)."""
    headers = {"X-API-Key": DEFAULT_KONG_API_KEY}
    with httpx.Client(
        base_url=f"{kong_server.url}/api/v1", headers=headers, verify=False
    ) as client:
        yield client


@pytest.fixture
def wms_sim() -> WmsSim:
    return WmsSim()


@pytest.fixture
def wms_server(wms_sim: WmsSim) -> Iterator[SimServer]:
    with SimServer(wms_sim.combined_app) as server:
        yield server


@pytest.fixture
def wms(wms_server: SimServer) -> Iterator[httpx.Client]:
    """An authenticated client at the combined WMS base URL ({server}/api/v1)."""
    headers = {"Authorization": f"Bearer {DEFAULT_WMS_API_KEY}"}
    with httpx.Client(base_url=f"{wms_server.url}/api/v1", headers=headers, verify=False) as client:
        yield client
