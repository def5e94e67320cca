"""The products' paged listings (Kong GET /products, WMS GET /inventory/items) against the contracts.

Both answer the same page shape, in id order, `page` from 1 and `limit`
1..1000 (default 100); a parameter outside that is a 400, a request without
the credentials a 401, and each key lists only its own tenant.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.sim import DEFAULT_KONG_API_KEY, DEFAULT_WMS_API_KEY, KongSim, SimServer, WmsSim

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from sim_helpers import assert_schema, kong_product, response_schema, wms_item

ERROR = "#/components/responses/Error/content/application~1json/schema"


@dataclass(frozen=True)
class Product:
    """One product's listing as a test drives it."""

    contract: str
    listing: str
    bulk: str
    id_field: str
    make: Callable[..., dict[str, Any]]
    headers: Callable[[str], dict[str, str]]


KONG = Product(
    "kong", "/products", "/products/bulk", "product_id", kong_product, lambda k: {"X-API-Key": k}
)
WMS = Product(
    "wms",
    "/inventory/items",
    "/inventory/items/bulk",
    "item_id",
    wms_item,
    lambda k: {"Authorization": f"Bearer {k}"},
)


@dataclass
class Running:
    """A product simulator on loopback: its base URL and an authenticated client."""

    product: Product
    sim: KongSim | WmsSim
    base: str
    client: httpx.Client

    def store(self, ids: list[str]) -> None:
        """Store records with these ids through the bulk upsert."""
        for start in range(0, len(ids), 100):
            items = [self.product.make(record_id) for record_id in ids[start : start + 100]]
            response = self.client.post(self.product.bulk, json=items)
            assert response.status_code == 200, response.text

    def page(self, **params: Any) -> httpx.Response:
        """One GET of the listing."""
        return self.client.get(self.product.listing, params=params)


@pytest.fixture(params=[KONG, WMS], ids=["kong", "wms"])
def running(request: pytest.FixtureRequest) -> Iterator[Running]:
    product: Product = request.param
    key = DEFAULT_KONG_API_KEY if product is KONG else DEFAULT_WMS_API_KEY
    sim: KongSim | WmsSim
    if product is KONG:
        sim = KongSim()
        app = sim.wsgi_app
    else:
        sim = WmsSim()
        app = sim.combined_app
    with (
        SimServer(app) as server,
        httpx.Client(base_url=f"{server.url}/api/v1", headers=product.headers(key)) as client,
    ):
        yield Running(product, sim, f"{server.url}/api/v1", client)


def _checked(running: Running, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_schema(running.product.contract, response_schema(running.product.listing, "get"), body)
    return body


def test_an_empty_store_lists_one_empty_page(running: Running) -> None:
    body = _checked(running, running.page())
    assert body == {
        "data": [],
        "pagination": {"page": 1, "limit": 100, "total_records": 0, "total_pages": 0},
    }


def test_pages_cover_every_record_once_in_id_order(running: Running) -> None:
    ids = [f"P{n:04d}" for n in range(23)]
    running.store(list(reversed(ids)))
    listed: list[str] = []
    for page in range(1, 4):
        body = _checked(running, running.page(page=page, limit=10))
        assert body["pagination"] == {
            "page": page,
            "limit": 10,
            "total_records": 23,
            "total_pages": 3,
        }
        listed += [record[running.product.id_field] for record in body["data"]]
    assert listed == ids
    beyond = _checked(running, running.page(page=4, limit=10))
    assert beyond["data"] == [] and beyond["pagination"]["total_records"] == 23


def test_a_listed_record_is_the_stored_record(running: Running) -> None:
    running.store(["P1"])
    (listed,) = _checked(running, running.page())["data"]
    assert listed == running.client.get(f"{running.product.listing}/P1").json()


@pytest.mark.parametrize(
    "params",
    [{"page": 0}, {"limit": 0}, {"limit": 1001}, {"page": "x"}, {"limit": "1.5"}],
    ids=["page-0", "limit-0", "limit-1001", "page-text", "limit-fraction"],
)
def test_paging_parameters_outside_the_contract_get_400(
    running: Running, params: dict[str, Any]
) -> None:
    response = running.page(**params)
    assert response.status_code == 400
    assert_schema(running.product.contract, ERROR, response.json())


def test_the_listing_needs_the_credentials(running: Running) -> None:
    response = httpx.get(running.base + running.product.listing)
    assert response.status_code == 401
    assert_schema(running.product.contract, ERROR, response.json())


def test_each_key_lists_only_its_own_tenant() -> None:
    sim = KongSim(api_keys={"key-a": "cliente-a", "key-b": "cliente-c"})
    with SimServer(sim.wsgi_app) as server:
        url = f"{server.url}/api/v1/products"
        httpx.post(f"{url}/bulk", json=[kong_product("P1")], headers={"X-API-Key": "key-a"})
        own = httpx.get(url, headers={"X-API-Key": "key-a"}).json()
        other = httpx.get(url, headers={"X-API-Key": "key-b"}).json()
    assert [record["product_id"] for record in own["data"]] == ["P1"]
    assert other["data"] == [] and other["pagination"]["total_records"] == 0
