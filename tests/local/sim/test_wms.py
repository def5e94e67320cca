"""The WMS simulator against contracts/wms.openapi.yaml, through real HTTP."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.sim import DEFAULT_WMS_API_KEY, SimServer, WmsSim

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from sim_helpers import assert_schema, response_schema, wms_item

BULK = "#/components/schemas/BulkResult"
ITEM = "#/components/schemas/WmsItem"
ERROR = "#/components/responses/Error/content/application~1json/schema"
ZONES = response_schema("/warehouse/zones", "get")
AUTH = {"Authorization": f"Bearer {DEFAULT_WMS_API_KEY}"}


def _bulk(
    client: httpx.Client, items: Any, path: str = "/inventory/items/bulk"
) -> list[dict[str, str]]:
    response = client.post(path, json=items)
    assert response.status_code == 200, response.text
    assert_schema("wms", BULK, response.json())
    results: list[dict[str, str]] = response.json()["results"]
    return results


@pytest.fixture
def split(wms_sim: WmsSim) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Clients of the inventory and warehouse services, each on its own server."""
    with (
        SimServer(wms_sim.inventory_app) as inventory,
        SimServer(wms_sim.warehouse_app) as warehouse,
        httpx.Client(base_url=inventory.url, headers=AUTH, verify=False) as inv,
        httpx.Client(base_url=warehouse.url, headers=AUTH, verify=False) as wh,
    ):
        yield inv, wh


# --- auth ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": DEFAULT_WMS_API_KEY}],
    ids=["missing", "wrong-token", "api-key-instead"],
)
def test_requests_without_the_bearer_token_get_401(wms_server: SimServer, headers: dict) -> None:
    base = f"{wms_server.url}/api/v1"
    calls = [
        ("POST", "/inventory/items/bulk", [wms_item()]),
        ("POST", "/inventory/items", [wms_item()]),
        ("GET", "/inventory/items", None),
        ("GET", "/inventory/items/PROD000001", None),
        ("PUT", "/inventory/items/PROD000001", wms_item()),
        ("POST", "/warehouse/locations", [{"item_id": "PROD000001", "location_code": "A0101"}]),
        ("GET", "/warehouse/zones", None),
    ]
    for method, path, body in calls:
        response = httpx.request(method, base + path, json=body, headers=headers)
        assert response.status_code == 401, path
        assert_schema("wms", ERROR, response.json())


# --- inventory service ------------------------------------------------------------------


def test_bulk_upsert_creates_then_leaves_unchanged_then_updates(
    wms: httpx.Client, wms_sim: WmsSim
) -> None:
    item = wms_item()
    assert _bulk(wms, [item]) == [{"id": "PROD000001", "status": "created"}]
    assert _bulk(wms, [item]) == [{"id": "PROD000001", "status": "unchanged"}]
    assert _bulk(wms, [{**item, "available_quantity": 9}])[0]["status"] == "updated"
    stored = wms.get("/inventory/items/PROD000001").json()
    assert_schema("wms", ITEM, stored)
    assert stored == {**item, "available_quantity": 9, "attributes": {}}
    assert wms_sim.items() == {"PROD000001": stored}


def test_post_items_has_the_same_upsert_semantics(wms: httpx.Client) -> None:
    assert _bulk(wms, [wms_item("I-1")], "/inventory/items")[0]["status"] == "created"
    assert _bulk(wms, [wms_item("I-1")], "/inventory/items")[0]["status"] == "unchanged"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"item_id": ""}, "item_id"),
        ({"item_id": "I" * 65}, "item_id"),
        ({"item_id": "ITEM/1"}, "item_id"),
        ({"external_item_code": 7}, "external_item_code"),
        ({"item_name": ""}, "item_name"),
        ({"item_name": "n" * 201}, "item_name"),
        ({"ean_code": "7702914177761"}, "ean_code"),
        ({"ean_code": "ABCDEFGHIJKLM"}, "ean_code"),
        ({"available_quantity": -2}, "available_quantity"),
        ({"available_quantity": 2.0}, "available_quantity"),
        ({"available_quantity": "2"}, "available_quantity"),
        ({"location_code": "A-01-05"}, "location_code"),
        ({"location_code": "a0105"}, "location_code"),
        ({"location_code": "A010"}, "location_code"),
        ({"location_code": None}, "location_code"),
        ({"zone_id": "ZONE-Z"}, "zone_id"),
        ({"zone_id": ""}, "zone_id"),
    ],
)
def test_each_item_rule_is_an_item_error(
    wms: httpx.Client, wms_sim: WmsSim, overrides: dict, field: str
) -> None:
    (result,) = _bulk(wms, [wms_item("RULE-1") | overrides])
    assert result["status"] == "error"
    assert field in result["error"]
    assert wms_sim.items() == {}


def test_missing_required_fields_are_item_errors(wms: httpx.Client) -> None:
    for field in (
        "item_id",
        "external_item_code",
        "item_name",
        "available_quantity",
        "location_code",
    ):
        item = wms_item("MISS-1")
        del item[field]
        (result,) = _bulk(wms, [item])
        assert result["status"] == "error" and field in result["error"], field


def test_null_ean_and_zone_are_accepted(wms: httpx.Client) -> None:
    (result,) = _bulk(wms, [wms_item("N-1", ean_code=None, zone_id=None)])
    assert result["status"] == "created"
    stored = wms.get("/inventory/items/N-1").json()
    assert stored["ean_code"] is None and stored["zone_id"] is None


@pytest.mark.parametrize(
    "body",
    [{"item_id": "I1"}, [], [wms_item(f"I{i}") for i in range(101)]],
    ids=["object", "empty", "101-items"],
)
def test_bodies_that_are_not_an_array_of_1_to_100_get_400(
    wms: httpx.Client, wms_sim: WmsSim, body: Any
) -> None:
    for path in ("/inventory/items/bulk", "/inventory/items", "/warehouse/locations"):
        response = wms.post(path, json=body)
        assert response.status_code == 400, path
        assert_schema("wms", ERROR, response.json())
    assert wms_sim.items() == {}


def test_put_updates_a_stored_item_and_refuses_the_rest(wms: httpx.Client) -> None:
    assert wms.put("/inventory/items/NOPE", json=wms_item("NOPE")).status_code == 404
    _bulk(wms, [wms_item()])
    response = wms.put(
        "/inventory/items/PROD000001", json=wms_item(location_code="B0202", zone_id="ZONE-B")
    )
    assert response.status_code == 200
    assert_schema("wms", ITEM, response.json())
    assert response.json()["location_code"] == "B0202"
    bad = wms.put("/inventory/items/PROD000001", json=wms_item(location_code="B-02-02"))
    assert bad.status_code == 400 and "location_code" in bad.json()["detail"]
    assert wms.put("/inventory/items/PROD000001", json=wms_item("OTHER")).status_code == 400
    assert wms.get("/inventory/items/PROD000001").json()["location_code"] == "B0202"


def test_get_of_an_unknown_item_is_404(wms: httpx.Client) -> None:
    response = wms.get("/inventory/items/NOPE")
    assert response.status_code == 404
    assert_schema("wms", ERROR, response.json())


# --- warehouse service ----------------------------------------------------------------------


def test_zones_are_listed(wms: httpx.Client) -> None:
    body = wms.get("/warehouse/zones").json()
    assert_schema("wms", ZONES, body)
    assert [z["zone_id"] for z in body["data"]] == ["ZONE-A", "ZONE-B", "ZONE-C", "ZONE-D"]


def test_zones_are_configurable() -> None:
    sim = WmsSim(zones={"Z1": "Patio"})
    with SimServer(sim.combined_app) as server:
        body = httpx.get(f"{server.url}/api/v1/warehouse/zones", headers=AUTH).json()
    assert body == {"data": [{"zone_id": "Z1", "name": "Patio"}]}


def test_location_assignments_need_a_stored_item_a_valid_code_and_a_listed_zone(
    wms: httpx.Client, wms_sim: WmsSim
) -> None:
    _bulk(wms, [wms_item("I1"), wms_item("I2")])
    results = _bulk(
        wms,
        [
            {"item_id": "I1", "location_code": "B0301", "zone_id": "ZONE-B"},
            {"item_id": "I1", "location_code": "B0301", "zone_id": "ZONE-B"},
            {"item_id": "I2", "location_code": "C0101"},
            {"item_id": "I404", "location_code": "A0101"},
            {"item_id": "I2", "location_code": "C-01-01"},
            {"item_id": "I2", "location_code": "C0102", "zone_id": "ZONE-Q"},
            {"location_code": "A0101"},
            42,
        ],
        "/warehouse/locations",
    )
    assert [r["status"] for r in results] == [
        "updated",
        "unchanged",
        "updated",
        "error",
        "error",
        "error",
        "error",
        "error",
    ]
    assert "does not exist" in results[3]["error"]
    assert "location_code" in results[4]["error"]
    assert "ZONE-Q" in results[5]["error"]
    items = wms_sim.items()
    assert (items["I1"]["location_code"], items["I1"]["zone_id"]) == ("B0301", "ZONE-B")
    assert (items["I2"]["location_code"], items["I2"]["zone_id"]) == ("C0101", "ZONE-A")


# --- the two services -------------------------------------------------------------------------


def test_services_on_their_own_servers_share_one_store(
    split: tuple[httpx.Client, httpx.Client], wms: httpx.Client
) -> None:
    inventory, warehouse = split
    assert _bulk(inventory, [wms_item("S1")], "/items/bulk")[0]["status"] == "created"
    assert (
        _bulk(warehouse, [{"item_id": "S1", "location_code": "D0909"}], "/locations")[0]["status"]
        == "updated"
    )
    assert inventory.get("/items/S1").json()["location_code"] == "D0909"
    assert wms.get("/inventory/items/S1").json()["location_code"] == "D0909"  # combined view too
    assert_schema("wms", ZONES, warehouse.get("/zones").json())


def test_one_service_fails_while_the_other_is_up(
    split: tuple[httpx.Client, httpx.Client], wms_sim: WmsSim
) -> None:
    inventory, warehouse = split
    wms_sim.faults["warehouse"].set(error_503_next=2)
    assert warehouse.get("/zones").status_code == 503
    assert inventory.get("/items/NOPE").status_code == 404
    assert warehouse.get("/zones").status_code == 503
    assert warehouse.get("/zones").status_code == 200
    services = [(e.service, e.status) for e in wms_sim.log.entries()]
    assert services == [
        ("warehouse", 503),
        ("inventory", 404),
        ("warehouse", 503),
        ("warehouse", 200),
    ]


def test_a_service_does_not_answer_the_other_services_paths(
    split: tuple[httpx.Client, httpx.Client],
) -> None:
    inventory, warehouse = split
    assert inventory.get("/zones").status_code == 404
    assert warehouse.get("/items/X").status_code == 404


def test_each_key_reaches_its_own_tenant() -> None:
    sim = WmsSim(api_keys={"key-b": "cliente-b", "key-d": "cliente-d"})
    with SimServer(sim.combined_app) as server:
        url = f"{server.url}/api/v1/inventory/items"
        httpx.post(f"{url}/bulk", json=[wms_item("W1")], headers={"Authorization": "Bearer key-b"})
        assert httpx.get(f"{url}/W1", headers={"Authorization": "Bearer key-d"}).status_code == 404
    assert set(sim.items("cliente-b")) == {"W1"}
    assert sim.items("cliente-d") == {}
