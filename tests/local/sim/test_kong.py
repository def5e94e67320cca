"""The Kong simulator against contracts/kong.openapi.yaml, through real HTTP."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.sim import DEFAULT_KONG_API_KEY, KongSim, SimServer

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from sim_helpers import assert_schema, kong_product

BULK = "#/components/schemas/BulkResult"
PRODUCT = "#/components/schemas/KongProduct"
ERROR = "#/components/responses/Error/content/application~1json/schema"
TAG_A = "E2801AEB9CAF840D157A81C6"
TAG_B = "E280F4DFF50621F800A922BF"


def _bulk(client: httpx.Client, items: Any, path: str = "/products/bulk") -> list[dict[str, str]]:
    response = client.post(path, json=items)
    assert response.status_code == 200, response.text
    assert_schema("kong", BULK, response.json())
    results: list[dict[str, str]] = response.json()["results"]
    return results


# --- auth ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong"}, {"Authorization": f"Bearer {DEFAULT_KONG_API_KEY}"}],
    ids=["missing", "wrong-key", "bearer-instead"],
)
def test_requests_without_the_api_key_get_401(kong_server: SimServer, headers: dict) -> None:
    base = f"{kong_server.url}/api/v1"
    calls = [
        ("POST", "/products/bulk", [kong_product()]),
        ("POST", "/products", [kong_product()]),
        ("GET", "/products", None),
        ("GET", "/products/PROD000001", None),
        ("PUT", "/products/PROD000001", kong_product()),
        ("POST", "/rfid/tags", [{"product_id": "PROD000001", "rfid_tag_id": TAG_A}]),
    ]
    for method, path, body in calls:
        response = httpx.request(method, base + path, json=body, headers=headers)
        assert response.status_code == 401, path
        assert_schema("kong", ERROR, response.json())


# --- upserts ------------------------------------------------------------------------


def test_bulk_upsert_creates_then_leaves_unchanged_then_updates(
    kong: httpx.Client, kong_sim: KongSim
) -> None:
    product = kong_product()
    assert _bulk(kong, [product]) == [{"id": "PROD000001", "status": "created"}]
    assert _bulk(kong, [product]) == [{"id": "PROD000001", "status": "unchanged"}]
    assert _bulk(kong, [{**product, "quantity": 13}]) == [{"id": "PROD000001", "status": "updated"}]
    stored = kong.get("/products/PROD000001").json()
    assert_schema("kong", PRODUCT, stored)
    assert stored == {**product, "quantity": 13}
    assert kong_sim.products() == {"PROD000001": stored}


def test_post_products_has_the_same_upsert_semantics(kong: httpx.Client) -> None:
    assert _bulk(kong, [kong_product("P-1")], "/products") == [{"id": "P-1", "status": "created"}]
    assert _bulk(kong, [kong_product("P-1")], "/products") == [{"id": "P-1", "status": "unchanged"}]


def test_optional_fields_are_stored_as_null_and_empty(kong: httpx.Client) -> None:
    minimal = {"product_id": "P2", "external_reference": "SIESA-P2", "name": "Gorra", "quantity": 0}
    assert _bulk(kong, [minimal])[0]["status"] == "created"
    assert kong.get("/products/P2").json() == {
        **minimal,
        "barcode": None,
        "rfid_tag_id": None,
        "attributes": {},
    }


def test_a_mixed_batch_stores_the_valid_items_and_reports_the_rest_in_order(
    kong: httpx.Client, kong_sim: KongSim
) -> None:
    items = [
        kong_product("OK-1"),
        kong_product("BAD-1", barcode="7702914177761"),
        "not an object",
        kong_product("OK-2"),
    ]
    results = _bulk(kong, items)
    assert [(r["id"], r["status"]) for r in results] == [
        ("OK-1", "created"),
        ("BAD-1", "error"),
        ("", "error"),
        ("OK-2", "created"),
    ]
    assert "barcode" in results[1]["error"]
    assert set(kong_sim.products()) == {"OK-1", "OK-2"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"product_id": ""}, "product_id"),
        ({"product_id": "X" * 65}, "product_id"),
        ({"product_id": "PROD 1"}, "product_id"),
        ({"product_id": "PRODÑ"}, "product_id"),
        ({"product_id": 12}, "product_id"),
        ({"external_reference": None}, "external_reference"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": None}, "name"),
        ({"barcode": "7702914177761"}, "barcode"),  # wrong check digit
        ({"barcode": "770291417776"}, "barcode"),  # 12 digits
        ({"barcode": " 7702914177764"}, "barcode"),
        ({"barcode": ""}, "barcode"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"quantity": "3"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"rfid_tag_id": "E280117000000201"[:15]}, "rfid_tag_id"),
        ({"rfid_tag_id": "E" * 33}, "rfid_tag_id"),
        ({"rfid_tag_id": "e2801170000002012345678a"}, "rfid_tag_id"),
        ({"rfid_tag_id": "G2801170000002012345678A"}, "rfid_tag_id"),
        ({"attributes": ["color"]}, "attributes"),
    ],
)
def test_each_item_rule_is_an_item_error(
    kong: httpx.Client, kong_sim: KongSim, overrides: dict, field: str
) -> None:
    (result,) = _bulk(kong, [kong_product("RULE-1") | overrides])
    assert result["status"] == "error"
    assert field in result["error"]
    assert kong_sim.products() == {}


def test_missing_required_fields_are_item_errors(kong: httpx.Client) -> None:
    for field in ("product_id", "external_reference", "name", "quantity"):
        item = kong_product("MISS-1")
        del item[field]
        (result,) = _bulk(kong, [item])
        assert result["status"] == "error" and field in result["error"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"product_id": "A" * 64},
        {"product_id": "a.b_c-D9"},
        {"name": "ñ" * 200},
        {"barcode": None},
        {"quantity": 0},
        {"rfid_tag_id": "0123456789ABCDEF"},
        {"rfid_tag_id": "0123456789ABCDEF" * 2},
    ],
)
def test_values_at_the_edges_of_the_rules_are_accepted(kong: httpx.Client, overrides: dict) -> None:
    (result,) = _bulk(kong, [kong_product("EDGE") | overrides])
    assert result["status"] == "created", result


# --- whole-body refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"product_id": "P1"}, [], [kong_product(f"P{i}") for i in range(101)], "P1"],
    ids=["object", "empty", "101-items", "string"],
)
def test_bodies_that_are_not_an_array_of_1_to_100_get_400(
    kong: httpx.Client, kong_sim: KongSim, body: Any
) -> None:
    for path in ("/products/bulk", "/products", "/rfid/tags"):
        response = kong.post(path, json=body)
        assert response.status_code == 400, path
        assert_schema("kong", ERROR, response.json())
    assert kong_sim.products() == {}


def test_a_body_that_is_not_json_gets_400(kong: httpx.Client) -> None:
    response = kong.post(
        "/products/bulk", content=b"[{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_100_items_are_accepted(kong: httpx.Client, kong_sim: KongSim) -> None:
    results = _bulk(kong, [kong_product(f"P{i:03d}") for i in range(100)])
    assert {r["status"] for r in results} == {"created"}
    assert len(kong_sim.products()) == 100


# --- single product --------------------------------------------------------------------


def test_get_of_an_unknown_product_is_404(kong: httpx.Client) -> None:
    response = kong.get("/products/NOPE")
    assert response.status_code == 404
    assert_schema("kong", ERROR, response.json())


def test_put_updates_a_stored_product(kong: httpx.Client) -> None:
    _bulk(kong, [kong_product()])
    response = kong.put("/products/PROD000001", json=kong_product(name="Camisa Oxford Azul Marino"))
    assert response.status_code == 200
    assert_schema("kong", PRODUCT, response.json())
    assert kong.get("/products/PROD000001").json()["name"] == "Camisa Oxford Azul Marino"


def test_put_refuses_unknown_invalid_or_mismatched_products(kong: httpx.Client) -> None:
    assert kong.put("/products/NOPE", json=kong_product("NOPE")).status_code == 404
    _bulk(kong, [kong_product()])
    invalid = kong.put("/products/PROD000001", json=kong_product(quantity=-4))
    assert invalid.status_code == 400
    assert "quantity" in invalid.json()["detail"]
    mismatched = kong.put("/products/PROD000001", json=kong_product("OTHER"))
    assert mismatched.status_code == 400
    assert kong.put("/products/PROD000001", json=[kong_product()]).status_code == 400
    assert kong.get("/products/PROD000001").json()["quantity"] == 12


# --- RFID tags ----------------------------------------------------------------------------


def test_tags_bind_to_products_and_a_bound_tag_is_an_item_error(
    kong: httpx.Client, kong_sim: KongSim
) -> None:
    _bulk(kong, [kong_product("P1"), kong_product("P2")])
    results = _bulk(
        kong,
        [
            {"product_id": "P1", "rfid_tag_id": TAG_A},
            {"product_id": "P1", "rfid_tag_id": TAG_A},
            {"product_id": "P2", "rfid_tag_id": TAG_A},
            {"product_id": "P404", "rfid_tag_id": TAG_B},
            {"product_id": "P2", "rfid_tag_id": "short"},
            {"product_id": "P2", "rfid_tag_id": None},
            {"rfid_tag_id": TAG_B},
        ],
        "/rfid/tags",
    )
    assert [r["status"] for r in results] == [
        "created",
        "unchanged",
        "error",
        "error",
        "error",
        "error",
        "error",
    ]
    assert "bound to product P1" in results[2]["error"]
    assert "does not exist" in results[3]["error"]
    assert kong_sim.state()["tenants"]["default"]["tags"] == {TAG_A: "P1"}
    assert (
        _bulk(kong, [{"product_id": "P1", "rfid_tag_id": TAG_B}], "/rfid/tags")[0]["status"]
        == "updated"
    )
    # the old tag is free again
    assert (
        _bulk(kong, [{"product_id": "P2", "rfid_tag_id": TAG_A}], "/rfid/tags")[0]["status"]
        == "created"
    )


def test_a_product_write_may_not_take_another_products_tag(kong: httpx.Client) -> None:
    assert _bulk(kong, [kong_product("P1", rfid_tag_id=TAG_A)])[0]["status"] == "created"
    (result,) = _bulk(kong, [kong_product("P2", rfid_tag_id=TAG_A)])
    assert result["status"] == "error" and "P1" in result["error"]
    # moving P1 to another tag frees TAG_A
    assert _bulk(kong, [kong_product("P1", rfid_tag_id=TAG_B)])[0]["status"] == "updated"
    assert _bulk(kong, [kong_product("P2", rfid_tag_id=TAG_A)])[0]["status"] == "created"


# --- tenants -------------------------------------------------------------------------------


def test_each_key_reaches_its_own_tenant() -> None:
    sim = KongSim(api_keys={"key-a": "cliente-a", "key-b": "cliente-c"})
    with SimServer(sim.wsgi_app) as server:
        url = f"{server.url}/api/v1/products"
        httpx.post(f"{url}/bulk", json=[kong_product("P1")], headers={"X-API-Key": "key-a"})
        assert httpx.get(f"{url}/P1", headers={"X-API-Key": "key-a"}).status_code == 200
        assert httpx.get(f"{url}/P1", headers={"X-API-Key": "key-b"}).status_code == 404
    assert set(sim.products("cliente-a")) == {"P1"}
    assert sim.products("cliente-c") == {}
