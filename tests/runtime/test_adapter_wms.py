"""The WMS adapter against loopback servers that follow wms.openapi.yaml, one per service."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from runtime.adapters.base import ProductAdapter
from runtime.adapters.registry import get_adapter_class
from runtime.adapters.run_cache import read_once_per_run
from runtime.adapters.wms import WMSAdapter, check_zones
from runtime.config import ClientConfig, ProductCredentials
from runtime.errors import ProductAuthError, ProductUnavailable, RunDataError
from runtime.http import RetryPolicy

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from http_fixtures import ProductStoreApp, Reply, ScriptedApp, Sleeps, serve

KEY = "wms-key-42aa0f7e-unique"
ZONES = ("ZONE-A", "ZONE-B")


def wms_mapping() -> ModuleType:
    """A compiled-mapping-shaped module: `to_product` from canonical to the WMS item format."""
    module = ModuleType("wms_mapping_under_test")

    def to_product(canonical: dict[str, Any]) -> dict[str, Any]:
        return {
            "item_id": canonical["id"],
            "external_item_code": canonical.get("external_id") or canonical["id"],
            "item_name": canonical["name"],
            "ean_code": canonical.get("ean"),
            "available_quantity": canonical["stock_quantity"],
            "location_code": canonical.get("warehouse_location"),
            "zone_id": canonical.get("warehouse_zone"),
        }

    module.to_product = to_product  # type: ignore[attr-defined]
    return module


def canonical(n: int, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"ITEM{n:03d}",
        "name": f"Caja {n}",
        "ean": None,
        "stock_quantity": n,
        "warehouse_location": "A0105",
        "warehouse_zone": "ZONE-A",
    }
    return base | fields


class Wms:
    """The WMS as two services: inventory and warehouse apps sharing one item store."""

    def __init__(self, inventory_prefix: str, warehouse_prefix: str) -> None:
        auth = ("Authorization", f"Bearer {KEY}")
        self.inventory = ProductStoreApp(
            auth=auth,
            bulk_path=f"{inventory_prefix}/items/bulk",
            keys=("item_id", "item_name", "available_quantity", "ean_code"),
        )
        self.warehouse = ProductStoreApp(
            auth=auth,
            bulk_path="/unused",
            keys=("item_id", "item_name", "available_quantity", "ean_code"),
            locations_path=f"{warehouse_prefix}/locations",
            zones_path=f"{warehouse_prefix}/zones",
            zones=ZONES,
        )
        self.warehouse.stored = self.inventory.stored  # one WMS behind both services
        self.locations_path = f"{warehouse_prefix}/locations"
        self.zones_path = f"{warehouse_prefix}/zones"
        self.bulk_path = f"{inventory_prefix}/items/bulk"


def wms(api_url: str, endpoints: dict[str, str] | None = None, **options: Any) -> ProductAdapter:
    options.setdefault("sleep", Sleeps())
    credentials = ProductCredentials(
        product_type="wms",
        api_url=api_url,
        api_key=options.pop("key", KEY),
        service_endpoints=endpoints or {},
    )
    config = ClientConfig(
        client_id="cliente-b",
        client_name="Empresa B",
        product_type="wms",
        siesa_api_url="https://cliente-b.siesa.example/api/v1",
        product_api_url=api_url,
    )
    return get_adapter_class("wms")(credentials, config, wms_mapping(), **options)  # type: ignore[call-arg]


@contextmanager
def split_wms() -> Iterator[tuple[Wms, str, dict[str, str], ScriptedApp]]:
    """Inventory and warehouse on two servers named by service_endpoints, api_url on a third."""
    services = Wms("/inventory-svc", "/warehouse-svc")
    api_root = ScriptedApp()
    with ExitStack() as stack:
        inventory_url = stack.enter_context(serve(services.inventory))
        warehouse_url = stack.enter_context(serve(services.warehouse))
        api_url = stack.enter_context(serve(api_root))
        endpoints = {
            "inventory": inventory_url + "/inventory-svc",
            "warehouse": warehouse_url + "/warehouse-svc",
            "orders": api_url + "/orders",
        }
        yield services, api_url + "/api/v1", endpoints, api_root


class DictCache:
    """A run cache in memory: the adapter needs no AWS to be tested."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}

    def get(self, name: str) -> Any | None:
        return self.documents.get(name)

    def put(self, name: str, document: Any) -> None:
        self.documents[name] = document


def load(adapter: ProductAdapter, records: list[dict[str, Any]]) -> Any:
    return adapter.load_batch(adapter.transform_products(records))


def test_the_registry_gives_the_wms_adapter() -> None:
    assert get_adapter_class("wms") is WMSAdapter
    assert WMSAdapter.product_type == "wms"


def test_each_service_is_called_at_its_own_endpoint() -> None:
    with (
        split_wms() as (services, api_url, endpoints, api_root),
        wms(api_url, endpoints) as adapter,
    ):
        result = load(
            adapter, [canonical(1), canonical(2, warehouse_location="B0201", warehouse_zone=None)]
        )
    assert result.succeeded == ["ITEM001", "ITEM002"]
    assert result.statuses == {"ITEM001": "created", "ITEM002": "created"}
    assert [len(s.body) for s in services.inventory.requests_to("POST", services.bulk_path)] == [2]
    assert services.warehouse.requests_to("POST", services.locations_path)[0].body == [
        {"item_id": "ITEM001", "location_code": "A0105", "zone_id": "ZONE-A"},
        {"item_id": "ITEM002", "location_code": "B0201", "zone_id": None},
    ]
    assert services.warehouse.locations == {"ITEM001": "A0105", "ITEM002": "B0201"}
    assert api_root.seen == [], "nothing goes to api_url when every service is named"
    every = services.inventory.seen + services.warehouse.seen
    assert all(s.headers["Authorization"] == f"Bearer {KEY}" for s in every)


def test_without_service_endpoints_everything_goes_under_api_url() -> None:
    services = Wms("/api/v1/inventory", "/api/v1/warehouse")
    with serve(services.inventory) as url:
        services.inventory.handlers.update(services.warehouse.handlers)
        services.inventory.zones = list(ZONES)
        with wms(url + "/api/v1") as adapter:
            result = load(adapter, [canonical(1)])
    assert result.succeeded == ["ITEM001"]
    paths = [(s.method, s.path) for s in services.inventory.seen]
    assert paths == [
        ("POST", "/api/v1/inventory/items/bulk"),
        ("GET", "/api/v1/warehouse/zones"),
        ("POST", "/api/v1/warehouse/locations"),
    ]


def test_warehouse_503_while_inventory_is_up_is_retried() -> None:
    with split_wms() as (services, api_url, endpoints, _):
        services.warehouse.script(
            "POST",
            services.locations_path,
            Reply(503, {"error": "warehouse down"}),
            Reply(503, {"error": "x"}),
        )
        with wms(api_url, endpoints) as adapter:
            result = load(adapter, [canonical(1)])
    assert result.succeeded == ["ITEM001"]
    assert len(services.inventory.requests_to("POST", services.bulk_path)) == 1
    assert len(services.warehouse.requests_to("POST", services.locations_path)) == 3


def test_warehouse_down_for_good_raises_product_unavailable_naming_the_service() -> None:
    with split_wms() as (services, api_url, endpoints, _):
        services.warehouse.handle(
            "POST", services.locations_path, lambda r: Reply(503, {"error": "down"})
        )
        with (
            wms(api_url, endpoints) as adapter,
            pytest.raises(
                ProductUnavailable, match="WMS POST /warehouse-svc/locations answered 503: down"
            ),
        ):
            load(adapter, [canonical(1)])
    assert len(services.inventory.requests_to("POST", services.bulk_path)) == 1
    assert len(services.warehouse.requests_to("POST", services.locations_path)) == 6


def test_zones_are_read_once_and_an_unknown_zone_fails_its_record_clearly() -> None:
    with split_wms() as (services, api_url, endpoints, _), wms(api_url, endpoints) as adapter:
        first = load(adapter, [canonical(1), canonical(2, warehouse_zone="ZONE-Z")])
        second = load(adapter, [canonical(3, warehouse_zone="ZONE-B")])
    assert first.succeeded == ["ITEM001"]
    assert [(f.id, f.reason) for f in first.failed] == [
        (
            "ITEM002",
            "item stored, but its zone 'ZONE-Z' is not a zone the WMS lists (listed: ZONE-A, ZONE-B)",
        )
    ]
    assert second.succeeded == ["ITEM003"]
    assert len(services.warehouse.requests_to("GET", services.zones_path)) == 1
    located = [
        item["item_id"]
        for s in services.warehouse.requests_to("POST", services.locations_path)
        for item in s.body
    ]
    assert located == ["ITEM001", "ITEM003"]


def test_the_adapters_of_one_run_share_one_zone_listing_through_the_runs_cache() -> None:
    cache = DictCache()
    with split_wms() as (services, api_url, endpoints, _):
        for page in range(3):  # a run loaded page by page: one adapter per page
            with wms(api_url, endpoints, run_cache=cache) as adapter:
                result = load(
                    adapter, [canonical(2 * page), canonical(2 * page + 1, warehouse_zone="ZONE-Z")]
                )
            assert result.succeeded == [f"ITEM{2 * page:03d}"]
            assert "(listed: ZONE-A, ZONE-B)" in result.failed[0].reason
    assert len(services.warehouse.requests_to("GET", services.zones_path)) == 1
    assert cache.documents == {"wms-zones": {"data": [{"zone_id": z} for z in ZONES]}}


def test_a_cached_zone_list_of_the_wrong_shape_is_refused_not_listed_again() -> None:
    cache = DictCache()
    cache.documents["wms-zones"] = {"data": [{"name": "ZONE-A"}]}
    with (
        split_wms() as (services, api_url, endpoints, _),
        wms(api_url, endpoints, run_cache=cache) as adapter,
        pytest.raises(RunDataError, match="stored wms-zones is refused: a zone has no `zone_id`"),
    ):
        load(adapter, [canonical(1)])
    assert services.warehouse.requests_to("GET", services.zones_path) == []


def test_read_once_per_run_reads_once_puts_what_it_read_and_checks_what_it_gets() -> None:
    cache, reads = DictCache(), []

    def read() -> dict[str, Any]:
        reads.append(1)
        return {"data": [{"zone_id": "ZONE-A"}]}

    listed = {"data": [{"zone_id": "ZONE-A"}]}
    assert read_once_per_run(None, "wms-zones", read, check_zones) == listed  # no cache: a read
    for _ in range(3):
        assert read_once_per_run(cache, "wms-zones", read, check_zones) == listed
    assert len(reads) == 2 and cache.documents == {"wms-zones": listed}
    cache.documents["wms-zones"] = {"data": None}
    with pytest.raises(RunDataError, match="the body has no `data` list"):
        read_once_per_run(cache, "wms-zones", read, check_zones)


def test_zones_are_not_read_when_no_item_names_a_zone() -> None:
    with split_wms() as (services, api_url, endpoints, _), wms(api_url, endpoints) as adapter:
        assert load(adapter, [canonical(1, warehouse_zone=None)]).succeeded == ["ITEM001"]
    assert services.warehouse.requests_to("GET", services.zones_path) == []


def test_a_refused_location_fails_that_record() -> None:
    with split_wms() as (_services, api_url, endpoints, _), wms(api_url, endpoints) as adapter:
        result = load(adapter, [canonical(1, warehouse_location="A-01-05"), canonical(2)])
    assert result.succeeded == ["ITEM002"]
    assert [(f.id, f.reason) for f in result.failed] == [
        (
            "ITEM001",
            "item stored, but location A-01-05 was refused: WMS: location_code 'A-01-05' must match ^[A-Z][0-9]{4}$",
        )
    ]


def test_items_the_inventory_refuses_are_not_located() -> None:
    with split_wms() as (services, api_url, endpoints, _), wms(api_url, endpoints) as adapter:
        result = load(adapter, [canonical(1, ean="1111111111111"), canonical(2)])
    assert [(f.id, f.reason) for f in result.failed] == [("ITEM001", "WMS: Invalid EAN format")]
    located = [
        i["item_id"]
        for s in services.warehouse.requests_to("POST", services.locations_path)
        for i in s.body
    ]
    assert located == ["ITEM002"]


def test_an_item_without_a_location_fails_without_a_call() -> None:
    with split_wms() as (services, api_url, endpoints, _), wms(api_url, endpoints) as adapter:
        result = load(adapter, [canonical(1, warehouse_location=None)])
    assert [(f.id, f.reason) for f in result.failed] == [
        ("ITEM001", "WMS needs: missing location_code (required for WMS)")
    ]
    assert services.inventory.seen == []


def test_refused_credentials_stop_at_once_and_never_show_the_key() -> None:
    with split_wms() as (services, api_url, endpoints, _):
        services.inventory.script(
            "POST", services.bulk_path, Reply(401, {"error": f"token {KEY} revoked"})
        )
        with (
            wms(api_url, endpoints, policy=RetryPolicy(max_attempts=3)) as adapter,
            pytest.raises(ProductAuthError) as caught,
        ):
            load(adapter, [canonical(1)])
    assert len(services.inventory.seen) == 1
    text = "".join(traceback.format_exception(caught.value))
    assert KEY not in text
    assert "answered 401: token [redacted] revoked" in text
