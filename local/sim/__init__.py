"""Simulators of Siesa (REST), Kong and WMS: real HTTP servers on loopback that serve the contracts.

Typical use in a test::

    sim = SiesaSim(generate_catalog(500, seed=1))
    with SimServer(sim.wsgi_app) as server:
        ...  # siesa_api_url = f"{server.url}/api/v1"; read back with sim.state()
"""

from __future__ import annotations

from local.sim.catalog import Catalog, generate_catalog
from local.sim.faults import FaultInjector, FaultPlan
from local.sim.kong import DEFAULT_KONG_API_KEY, KongSim
from local.sim.paging import Page
from local.sim.requestlog import LoggedRequest, RequestLog
from local.sim.server import SimServer
from local.sim.siesa import DEFAULT_SIESA_API_KEY, SiesaSim
from local.sim.wms import DEFAULT_WMS_API_KEY, WmsSim

__all__ = [
    "DEFAULT_KONG_API_KEY",
    "DEFAULT_SIESA_API_KEY",
    "DEFAULT_WMS_API_KEY",
    "Catalog",
    "FaultInjector",
    "FaultPlan",
    "KongSim",
    "LoggedRequest",
    "Page",
    "RequestLog",
    "SiesaSim",
    "SimServer",
    "WmsSim",
    "generate_catalog",
]
