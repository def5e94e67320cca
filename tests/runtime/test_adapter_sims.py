"""The Kong and WMS adapters against the platform's simulators (local/sim)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local.sim import DEFAULT_KONG_API_KEY, DEFAULT_WMS_API_KEY, KongSim, SimServer, WmsSim
from runtime.adapters.base import ProductAdapter
from runtime.adapters.listing import MAX_PASSES
from runtime.adapters.registry import get_adapter_class
from runtime.config import ClientConfig, ProductCredentials
from runtime.errors import ProductAuthError, ProductUnavailable

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from http_fixtures import Sleeps, quiet_budget

GOOD_EAN = "7701234567897"
TAG = "E2801170000002012345678A"
UNUSED_API_URL = "http://127.0.0.1:9/api/v1"  # nothing listens: a call there would fail


def mapping(to_product: Any) -> ModuleType:
    module = ModuleType("mapping_under_test")
    module.to_product = to_product  # type: ignore[attr-defined]
    return module


def kong_product(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "product_id": c["id"],
        "external_reference": f"SIESA-{c['id']}",
        "name": c["name"],
        "barcode": c.get("ean"),
        "quantity": c["stock_quantity"],
        "rfid_tag_id": c.get("rfid_tag_id"),
    }


def wms_item(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "item_id": c["id"],
        "external_item_code": f"SIESA-{c['id']}",
        "item_name": c["name"],
        "ean_code": c.get("ean"),
        "available_quantity": c["stock_quantity"],
        "location_code": c.get("warehouse_location"),
        "zone_id": c.get("warehouse_zone"),
    }


def adapter(
    product_type: str,
    api_url: str,
    key: str,
    endpoints: dict[str, str] | None = None,
    **options: Any,
) -> ProductAdapter:
    options.setdefault("sleep", Sleeps())
    options.setdefault("budget", quiet_budget(None))  # a 429's pause waits on a fake clock
    config = ClientConfig(
        client_id="cliente-a",
        client_name="Empresa A",
        product_type=product_type,
        siesa_api_url="https://cliente-a.siesa.example/api/v1",
        product_api_url=api_url,
    )
    credentials = ProductCredentials(
        product_type=product_type, api_url=api_url, api_key=key, service_endpoints=endpoints or {}
    )
    to_product = kong_product if product_type == "kong" else wms_item
    return get_adapter_class(product_type)(credentials, config, mapping(to_product), **options)  # type: ignore[call-arg]


def load(target: ProductAdapter, records: list[dict[str, Any]]) -> Any:
    return target.load_batch(target.transform_products(records))


def canonical(n: int, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"P{n:04d}",
        "name": f"Producto {n}",
        "ean": GOOD_EAN,
        "stock_quantity": n,
        "warehouse_location": "A0105",
        "warehouse_zone": "ZONE-A",
    }
    return base | fields


# --- Kong --------------------------------------------------------------------------------------


@pytest.fixture
def kong_sim() -> Iterator[tuple[KongSim, str]]:
    simulator = KongSim()
    with SimServer(simulator.wsgi_app) as server:
        yield simulator, f"{server.url}/api/v1"


def test_kong_stores_every_valid_product_and_reports_the_rest(
    kong_sim: tuple[KongSim, str],
) -> None:
    simulator, api_url = kong_sim
    records = [canonical(n) for n in range(230)]
    records[5]["ean"] = "7701234567890"  # wrong check digit
    records[9]["rfid_tag_id"] = TAG
    with adapter("kong", api_url, DEFAULT_KONG_API_KEY) as kong:
        result = load(kong, records)
    assert len(result.succeeded) == 229
    assert [(f.id, f.reason) for f in result.failed] == [
        ("P0005", "Kong: barcode must be null or 13 digits with a valid EAN-13 check digit")
    ]
    stored = simulator.products()
    assert len(stored) == 229
    assert stored["P0009"]["rfid_tag_id"] == TAG
    assert simulator.state()["tenants"]
    paths = [e.path for e in simulator.log.entries()]
    bulk, tags = "/api/v1/products/bulk", "/api/v1/rfid/tags"
    assert paths == [bulk, tags, bulk, bulk], "tags follow the batch that stored their product"


def test_kong_survives_the_simulators_transient_faults(kong_sim: tuple[KongSim, str]) -> None:
    simulator, api_url = kong_sim
    simulator.faults.set(
        rate_limit_next=1,
        retry_after=4,
        retry_after_format="http-date",
        error_500_next=2,
        drop_connection_next=1,
        malformed_json_next=1,
    )
    sleeps = Sleeps()
    with adapter("kong", api_url, DEFAULT_KONG_API_KEY, sleep=sleeps) as kong:
        result = load(kong, [canonical(n) for n in range(10)])
    assert len(result.succeeded) == 10
    assert len(simulator.products()) == 10
    assert 1.0 <= sleeps.calls[0] <= 4.0, "the 429 waited its HTTP-date"
    assert len(sleeps.calls) == 5
    assert simulator.faults.snapshot()["injected"] == {
        "rate_limit": 1,
        "error_500": 2,
        "drop_connection": 1,
        "malformed_json": 1,
    }


def test_kong_500s_are_retried_three_times(kong_sim: tuple[KongSim, str]) -> None:
    simulator, api_url = kong_sim
    simulator.faults.set(error_500_next=10)
    with (
        adapter("kong", api_url, DEFAULT_KONG_API_KEY) as kong,
        pytest.raises(ProductUnavailable, match="500"),
    ):
        load(kong, [canonical(1)])
    assert len(simulator.log.entries()) == 4


def test_kong_revoked_key_stops_at_once(kong_sim: tuple[KongSim, str]) -> None:
    simulator, api_url = kong_sim
    simulator.faults.set(revoke_from_request=1)
    with adapter("kong", api_url, DEFAULT_KONG_API_KEY) as kong, pytest.raises(ProductAuthError):
        load(kong, [canonical(1)])
    assert len(simulator.log.entries()) == 1


def test_kong_tag_already_bound_fails_that_record(kong_sim: tuple[KongSim, str]) -> None:
    _, api_url = kong_sim
    with adapter("kong", api_url, DEFAULT_KONG_API_KEY) as kong:
        assert load(kong, [canonical(1, rfid_tag_id=TAG)]).succeeded == ["P0001"]
        result = load(kong, [canonical(2, rfid_tag_id=TAG), canonical(3)])
    assert result.succeeded == ["P0003"]
    assert [(f.id, f.reason) for f in result.failed] == [
        ("P0002", f"Kong: rfid_tag_id {TAG} is already bound to product P0001")
    ], "Kong refuses the conflicting tag already in the bulk upsert"


# --- WMS ---------------------------------------------------------------------------------------


@pytest.fixture
def wms_split() -> Iterator[tuple[WmsSim, dict[str, str]]]:
    """Inventory and warehouse each on its own server, named by service_endpoints."""
    simulator = WmsSim()
    with ExitStack() as stack:
        inventory = stack.enter_context(SimServer(simulator.inventory_app))
        warehouse = stack.enter_context(SimServer(simulator.warehouse_app))
        yield simulator, {"inventory": inventory.url, "warehouse": warehouse.url}


def test_wms_services_at_their_own_endpoints(wms_split: tuple[WmsSim, dict[str, str]]) -> None:
    simulator, endpoints = wms_split
    records = [canonical(n) for n in range(120)]
    records[3]["warehouse_zone"] = "ZONE-Z"
    with adapter("wms", UNUSED_API_URL, DEFAULT_WMS_API_KEY, endpoints) as wms:
        result = load(wms, records)
    assert len(result.succeeded) == 119
    assert [(f.id, f.reason) for f in result.failed] == [
        ("P0003", "WMS: zone_id 'ZONE-Z' is not a listed zone")
    ]
    assert len(simulator.items()) == 119
    by_service = {(e.service, e.method, e.path) for e in simulator.log.entries()}
    assert by_service == {
        ("inventory", "POST", "/items/bulk"),
        ("warehouse", "GET", "/zones"),
        ("warehouse", "POST", "/locations"),
    }


def test_wms_warehouse_503_while_inventory_is_up(wms_split: tuple[WmsSim, dict[str, str]]) -> None:
    simulator, endpoints = wms_split
    simulator.faults["warehouse"].set(error_503_next=2)
    with adapter("wms", UNUSED_API_URL, DEFAULT_WMS_API_KEY, endpoints) as wms:
        assert load(wms, [canonical(1, warehouse_zone=None)]).succeeded == ["P0001"]
    simulator.faults["warehouse"].set(error_503_next=50)
    with (
        adapter("wms", UNUSED_API_URL, DEFAULT_WMS_API_KEY, endpoints) as wms,
        pytest.raises(ProductUnavailable, match="WMS POST /locations answered 503"),
    ):
        load(wms, [canonical(2, warehouse_zone=None)])
    assert set(simulator.items()) == {"P0001", "P0002"}, "inventory took both items"
    assert [e.status for e in simulator.log.entries("inventory")] == [200, 200]


def test_wms_without_service_endpoints_uses_the_combined_api() -> None:
    simulator = WmsSim()
    with (
        SimServer(simulator.combined_app) as server,
        adapter("wms", f"{server.url}/api/v1", DEFAULT_WMS_API_KEY) as wms,
    ):
        result = load(wms, [canonical(1), canonical(2, warehouse_location="A-01-05")])
    assert result.succeeded == ["P0001"]
    assert [f.id for f in result.failed] == ["P0002"]
    assert {e.service for e in simulator.log.entries()} == {"inventory", "warehouse"}


# --- the listings (what reconciliation reads) ---------------------------------------------------


@contextmanager
def kong_storing_while_listed(every_pass: bool) -> Iterator[tuple[KongSim, ProductAdapter]]:
    """Kong holding 9 products, storing one that sorts first after page 1 (once, or every pass)."""
    simulator = KongSim()
    for n in range(9):
        simulator.tenant().upsert(kong_product(canonical(n)))
    stored: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        answer = simulator.wsgi_app(environ, start_response)
        first_page = "page=1&" in environ.get("QUERY_STRING", "") + "&"
        if environ["PATH_INFO"].endswith("/products") and first_page and (every_pass or not stored):
            stored.append(f"A{len(stored):03d}")
            simulator.tenant().upsert(kong_product(canonical(0, id=stored[-1])))
        return answer

    with (
        SimServer(app) as server,
        adapter("kong", f"{server.url}/api/v1", DEFAULT_KONG_API_KEY) as kong,
    ):
        yield simulator, kong


def test_kong_lists_every_stored_product_across_small_pages(
    kong_sim: tuple[KongSim, str],
) -> None:
    simulator, url = kong_sim
    with adapter("kong", url, DEFAULT_KONG_API_KEY) as kong:
        load(kong, [canonical(n) for n in reversed(range(23))])
        simulator.log.clear()
        listed = kong.list_products(page_size=5)
    assert [record["product_id"] for record in listed] == [f"P{n:04d}" for n in range(23)]
    assert listed == [simulator.products()[record["product_id"]] for record in listed]
    assert [(e.method, e.path, e.query) for e in simulator.log.entries()] == [
        ("GET", "/api/v1/products", f"page={page}&limit=5") for page in range(1, 6)
    ]


def test_wms_lists_items_at_the_inventory_services_own_endpoint(
    wms_split: tuple[WmsSim, dict[str, str]],
) -> None:
    simulator, endpoints = wms_split
    with adapter("wms", UNUSED_API_URL, DEFAULT_WMS_API_KEY, endpoints) as wms:
        load(wms, [canonical(n, warehouse_zone=None) for n in range(7)])
        listed = wms.list_products(page_size=3)
    assert [record["item_id"] for record in listed] == [f"P{n:04d}" for n in range(7)]
    assert {(e.service, e.path) for e in simulator.log.entries() if e.method == "GET"} == {
        ("inventory", "/items")
    }


def test_a_record_held_twice_is_listed_twice() -> None:
    simulator = KongSim()
    simulator.tenant().upsert(kong_product(canonical(1)))
    simulator.tenant().products["P0001 "] = dict(simulator.tenant().products["P0001"])
    with (
        SimServer(simulator.wsgi_app) as server,
        adapter("kong", f"{server.url}/api/v1", DEFAULT_KONG_API_KEY) as kong,
    ):
        listed = kong.list_products(page_size=1)
    assert [record["product_id"] for record in listed] == ["P0001", "P0001"]


def test_a_product_stored_while_the_listing_is_paged_is_paged_again_and_read_once() -> None:
    with kong_storing_while_listed(every_pass=False) as (simulator, kong):
        listed = kong.list_products(page_size=4)
    ids = [record["product_id"] for record in listed]
    assert ids == ["A000", *(f"P{n:04d}" for n in range(9))]
    assert [e.query for e in simulator.log.entries()].count("page=1&limit=4") == 2


def test_a_holding_that_keeps_changing_while_paged_fails_as_unavailable() -> None:
    with (
        kong_storing_while_listed(every_pass=True) as (simulator, kong),
        pytest.raises(ProductUnavailable, match="kept changing while its listing was paged"),
    ):
        kong.list_products(page_size=4)
    assert [e.query for e in simulator.log.entries()].count("page=1&limit=4") == MAX_PASSES


def test_a_page_size_beyond_the_contract_is_refused_before_any_call() -> None:
    with (
        adapter("kong", UNUSED_API_URL, DEFAULT_KONG_API_KEY) as kong,
        pytest.raises(ValueError, match=r"page_size must be 1\.\.1000"),
    ):
        kong.list_products(page_size=1001)
