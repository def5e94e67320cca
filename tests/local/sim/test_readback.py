"""GET /_sim/state and /_sim/requests, and the same from Python, for each simulator."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from local.sim import (
    DEFAULT_KONG_API_KEY,
    DEFAULT_SIESA_API_KEY,
    DEFAULT_WMS_API_KEY,
    KongSim,
    SiesaSim,
    SimServer,
    WmsSim,
)

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from sim_helpers import kong_product, wms_item


def test_siesa_state_holds_the_catalog(
    siesa_server: SimServer, siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    state = httpx.get(f"{siesa_server.url}/_sim/state").json()
    assert state == siesa_sim.state()
    catalog = state["catalog"]
    assert catalog["count"] == 250
    assert catalog["records"] == siesa_sim.catalog.records()
    assert catalog["invalid"] == siesa_sim.catalog.invalid
    assert state["rate_limit"] == {"limit": 100, "window_s": 60.0}


def test_request_log_has_method_path_status_time_and_no_credentials(
    siesa_server: SimServer, siesa: httpx.Client
) -> None:
    siesa.get("/inventory/products", params={"page": 2, "limit": 10})
    siesa.get("/inventory/products/NOPE")
    httpx.get(f"{siesa_server.url}/api/v1/inventory/stock")
    response = httpx.get(f"{siesa_server.url}/_sim/requests")
    entries = response.json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/api/v1/inventory/products", 200),
        ("GET", "/api/v1/inventory/products/NOPE", 404),
        ("GET", "/api/v1/inventory/stock", 401),
    ]
    assert entries[0]["query"] == "page=2&limit=10"
    assert all(e["time"].endswith("+00:00") and e["service"] == "siesa" for e in entries)
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert DEFAULT_SIESA_API_KEY not in response.text
    assert "authorization" not in response.text.lower()
    assert DEFAULT_SIESA_API_KEY not in httpx.get(f"{siesa_server.url}/_sim/state").text


def test_the_request_log_can_be_cleared(siesa_server: SimServer, siesa: httpx.Client) -> None:
    siesa.get("/inventory/products")
    assert httpx.delete(f"{siesa_server.url}/_sim/requests").json() == {"requests": []}
    assert httpx.get(f"{siesa_server.url}/_sim/requests").json() == {"requests": []}


def test_kong_state_holds_each_tenants_products_and_tags(
    kong_server: SimServer, kong: httpx.Client, kong_sim: KongSim
) -> None:
    kong.post("/products/bulk", json=[kong_product("P1", rfid_tag_id="0123456789ABCDEF")])
    state = httpx.get(f"{kong_server.url}/_sim/state").json()
    assert state == kong_sim.state()
    assert state["tenants"]["default"]["tags"] == {"0123456789ABCDEF": "P1"}
    assert state["tenants"]["default"]["products"]["P1"]["name"] == kong_product()["name"]
    entries = httpx.get(f"{kong_server.url}/_sim/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"], e["service"]) for e in entries] == [
        ("POST", "/api/v1/products/bulk", 200, "kong")
    ]
    assert DEFAULT_KONG_API_KEY not in httpx.get(f"{kong_server.url}/_sim/state").text


def test_wms_state_and_log_cover_both_services(
    wms_server: SimServer, wms: httpx.Client, wms_sim: WmsSim
) -> None:
    wms.post("/inventory/items/bulk", json=[wms_item("W1")])
    wms.get("/warehouse/zones")
    state = httpx.get(f"{wms_server.url}/_sim/state").json()
    assert state == wms_sim.state()
    assert set(state["tenants"]["default"]["items"]) == {"W1"}
    assert set(state["faults"]) == {"inventory", "warehouse"}
    assert state["zones"]["ZONE-A"]
    log = httpx.get(f"{wms_server.url}/_sim/requests").json()["requests"]
    assert [(e["path"], e["service"]) for e in log] == [
        ("/api/v1/inventory/items/bulk", "inventory"),
        ("/api/v1/warehouse/zones", "warehouse"),
    ]
    only = httpx.get(f"{wms_server.url}/_sim/requests", params={"service": "warehouse"}).json()
    assert [e["path"] for e in only["requests"]] == ["/api/v1/warehouse/zones"]
    assert DEFAULT_WMS_API_KEY not in httpx.get(f"{wms_server.url}/_sim/state").text


def test_unknown_routes_answer_json_401_then_404(
    siesa_server: SimServer, siesa: httpx.Client
) -> None:
    assert httpx.get(f"{siesa_server.url}/api/v2/whatever").status_code == 401  # auth comes first
    response = siesa.get(f"{siesa_server.url}/api/v2/whatever")
    assert response.status_code == 404
    assert response.json()["error"] == "not found"
