"""The Siesa REST simulator against contracts/siesa.openapi.yaml, through real HTTP."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from local.sim import DEFAULT_SIESA_API_KEY, SiesaSim, SimServer, generate_catalog
from local.sim.catalog import ERP_OFFSET, parse_erp_timestamp, record_key

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from sim_helpers import FakeClock, assert_schema, response_schema

PAGE = "#/components/schemas/ProductPage"
PRODUCT = "#/components/schemas/SiesaProduct"
ERROR = "#/components/schemas/Error"
STOCK = response_schema("/inventory/stock", "get")


def _all_pages(client: httpx.Client, limit: int, **params: str) -> list[dict]:
    records: list[dict] = []
    page = 1
    while True:
        response = client.get(
            "/inventory/products", params={"page": page, "limit": limit, **params}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert_schema("siesa", PAGE, body)
        records.extend(body["data"])
        if page >= body["pagination"]["total_pages"]:
            return records
        page += 1


# --- auth -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {DEFAULT_SIESA_API_KEY}"}],
    ids=["missing", "wrong-token", "wrong-scheme"],
)
def test_requests_without_the_bearer_token_get_401(siesa_server: SimServer, headers: dict) -> None:
    for path in ("/inventory/products", "/inventory/products/PROD000001", "/inventory/stock"):
        response = httpx.get(f"{siesa_server.url}/api/v1{path}", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert_schema("siesa", ERROR, response.json())
        assert DEFAULT_SIESA_API_KEY not in response.text


def test_a_revoked_key_is_refused_from_then_on(siesa: httpx.Client, siesa_sim: SiesaSim) -> None:
    assert siesa.get("/inventory/products").status_code == 200
    siesa_sim.revoke(DEFAULT_SIESA_API_KEY)
    assert siesa.get("/inventory/products").status_code == 401


# --- listing, ordering, pagination ------------------------------------------------


def test_first_page_defaults_to_100_items_with_pagination(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    body = siesa.get("/inventory/products").json()
    assert_schema("siesa", PAGE, body)
    assert body["pagination"] == {"page": 1, "limit": 100, "total_records": 250, "total_pages": 3}
    assert body["data"] == siesa_sim.catalog.records()[:100]


def test_paging_returns_every_record_once_ordered_by_modification_then_code(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    records = _all_pages(siesa, limit=37)
    keys = [(r["f_fecha_modificacion"], record_key(r)) for r in records]
    assert keys == sorted(keys)
    assert len({record_key(r) for r in records}) == 250
    assert records == siesa_sim.catalog.records()
    stamps = [r["f_fecha_modificacion"] for r in records]
    assert len(set(stamps)) < len(stamps), "the catalog should hold ties the code must break"


def test_the_last_page_is_short_and_past_it_is_empty(siesa: httpx.Client) -> None:
    last = siesa.get("/inventory/products", params={"page": 3, "limit": 100}).json()
    assert len(last["data"]) == 50
    past = siesa.get("/inventory/products", params={"page": 4, "limit": 100}).json()
    assert past["data"] == []
    assert past["pagination"] == {"page": 4, "limit": 100, "total_records": 250, "total_pages": 3}


def test_limit_1000_is_allowed(siesa: httpx.Client) -> None:
    body = siesa.get("/inventory/products", params={"limit": 1000}).json()
    assert len(body["data"]) == 250
    assert body["pagination"]["total_pages"] == 1


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"modified_since": "yesterday"}, "modified_since"),
        ({"modified_since": "2025-01-15T10:00:00"}, "offset"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter(
    siesa: httpx.Client, params: dict, word: str
) -> None:
    response = siesa.get("/inventory/products", params=params)
    assert response.status_code == 400
    assert_schema("siesa", ERROR, response.json())
    assert word in response.json()["detail"]


def test_stock_rejects_bad_limits(siesa: httpx.Client) -> None:
    assert siesa.get("/inventory/stock", params={"limit": 5000}).status_code == 400


# --- modified_since -----------------------------------------------------------------


def test_modified_since_is_inclusive_and_compares_erp_time_as_utc_minus_5(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    records = siesa_sim.catalog.records()
    pivot = records[120]["f_fecha_modificacion"]
    instant = parse_erp_timestamp(pivot)
    expected = [r for r in records if r["f_fecha_modificacion"] >= pivot]
    for since in (
        instant.isoformat(),  # 2025-..T..-05:00
        instant.astimezone(UTC).isoformat(),  # +00:00, sent encoded by httpx
        instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ):
        got = _all_pages(siesa, limit=50, modified_since=since)
        assert got == expected, since
    assert got[0]["f_fecha_modificacion"] == pivot


def test_modified_since_a_fraction_after_a_record_excludes_it(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    records = siesa_sim.catalog.records()
    pivot = records[-1]["f_fecha_modificacion"]
    just_after = parse_erp_timestamp(pivot) + timedelta(milliseconds=1)
    body = siesa.get("/inventory/products", params={"modified_since": just_after.isoformat()})
    assert body.json()["data"] == []


def test_modified_records_are_what_an_incremental_sync_sees(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    watermark = datetime(2026, 3, 1, 9, 0, 0, tzinfo=ERP_OFFSET)
    ids = ["PROD000010", "PROD000200", "PROD000003"]
    before = {code: siesa_sim.catalog.get(code) for code in ids}
    siesa_sim.catalog.modify(ids, now=watermark + timedelta(minutes=5))
    got = _all_pages(siesa, limit=100, modified_since=watermark.isoformat())
    assert sorted(record_key(r) for r in got) == sorted(ids)
    assert all(r["f_fecha_modificacion"] == "2026-03-01 09:05:00" for r in got)
    assert all(r["f_cantidad"] != before[record_key(r)]["f_cantidad"] for r in got)  # type: ignore[index]


# --- single product and stock ---------------------------------------------------------


def test_get_product_by_code_ignores_the_erp_padding(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    padded = next(r for r in siesa_sim.catalog.records() if r["f_codigo"] != r["f_codigo"].strip())
    response = siesa.get(f"/inventory/products/{padded['f_codigo'].strip()}")
    assert response.status_code == 200
    assert_schema("siesa", PRODUCT, response.json())
    assert response.json() == padded


def test_an_unknown_product_is_404(siesa: httpx.Client) -> None:
    response = siesa.get("/inventory/products/NOPE-1")
    assert response.status_code == 404
    assert_schema("siesa", ERROR, response.json())


def test_stock_lists_levels_by_location_and_filters(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    body = siesa.get("/inventory/stock", params={"limit": 1000}).json()
    assert_schema("siesa", STOCK, body)
    assert body["pagination"]["total_records"] > 250  # some items sit in two warehouses
    two = next(
        code
        for code in siesa_sim.catalog.ids()
        if sum(record_key(row) == code for row in body["data"]) == 2
    )
    only = siesa.get("/inventory/stock", params={"product_id": two}).json()["data"]
    assert {row["f_bodega"] for row in only} == {"BOD-01", "BOD-02"}
    first = next(row for row in only if row["f_bodega"] == "BOD-01")
    assert first["f_cantidad"] == siesa_sim.catalog.get(two)["f_cantidad"]  # type: ignore[index]
    second = siesa.get("/inventory/stock", params={"warehouse_id": "BOD-02", "limit": 1000}).json()
    assert second["data"] and all(row["f_bodega"] == "BOD-02" for row in second["data"])
    paged = siesa.get("/inventory/stock", params={"page": 2, "limit": 10}).json()
    assert paged["data"] == body["data"][10:20]


# --- the ERP's quirks on the wire -------------------------------------------------------


def test_records_arrive_with_the_erp_quirks_and_the_invalid_ones(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    records = _all_pages(siesa, limit=1000)
    assert any(r["f_codigo"] != r["f_codigo"].strip() for r in records)
    assert any(isinstance(r.get("f_cantidad"), str) for r in records)
    assert any(r.get("f_nombre_corto") == "" or r.get("f_categoria") == "" for r in records)
    assert any("f_ean" not in r or r["f_ean"] is None for r in records) or any(
        r.get("f_ean") == "" for r in records
    )
    assert all("," in r["f_precio"] for r in records if r.get("f_precio"))
    served = {record_key(r) for r in records}
    assert siesa_sim.catalog.invalid and set(siesa_sim.catalog.invalid) <= served


# --- rate limit ---------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_and_recovers(clock: FakeClock) -> None:
    sim = SiesaSim(generate_catalog(5, seed=1), rate_limit=3, clock=clock)
    headers = {"Authorization": f"Bearer {DEFAULT_SIESA_API_KEY}"}
    with (
        SimServer(sim.wsgi_app) as server,
        httpx.Client(base_url=f"{server.url}/api/v1", headers=headers) as client,
    ):
        remaining = []
        for _ in range(3):
            response = client.get("/inventory/products")
            assert response.status_code == 200
            remaining.append(response.headers["X-RateLimit-Remaining"])
            clock.advance(10)
        assert remaining == ["2", "1", "0"]
        refused = client.get("/inventory/products")
        assert refused.status_code == 429
        assert_schema("siesa", ERROR, refused.json())
        # the first request left the window 30 s ago: it frees up in 30 s
        assert refused.headers["Retry-After"] == "30"
        clock.advance(29.5)
        assert client.get("/inventory/products").headers["Retry-After"] == "1"
        clock.advance(0.5)
        assert client.get("/inventory/products").status_code == 200


def test_rate_limit_is_per_api_key(clock: FakeClock) -> None:
    sim = SiesaSim(
        generate_catalog(5, seed=1), api_keys=["key-a", "key-b"], rate_limit=1, clock=clock
    )
    with SimServer(sim.wsgi_app) as server:
        url = f"{server.url}/api/v1/inventory/products"
        assert httpx.get(url, headers={"Authorization": "Bearer key-a"}).status_code == 200
        assert httpx.get(url, headers={"Authorization": "Bearer key-a"}).status_code == 429
        assert httpx.get(url, headers={"Authorization": "Bearer key-b"}).status_code == 200


def test_default_rate_limit_is_100_requests_a_minute(siesa: httpx.Client) -> None:
    statuses = [
        siesa.get("/inventory/products", params={"limit": 1}).status_code for _ in range(101)
    ]
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429
    retry_after = int(siesa.get("/inventory/products").headers["Retry-After"])
    assert 1 <= retry_after <= 60


def test_stock_changes_between_calls_without_moving_the_items_modification_time(
    siesa: httpx.Client, siesa_server: SimServer, siesa_sim: SiesaSim
) -> None:
    def levels() -> dict[tuple[str, str], object]:
        rows = siesa.get("/inventory/stock", params={"limit": 1000}).json()["data"]
        return {(record_key(row), row["f_bodega"]): row["f_cantidad"] for row in rows}

    before, stamps = levels(), [r["f_fecha_modificacion"] for r in siesa_sim.catalog.records()]
    changed = httpx.post(f"{siesa_server.url}/_sim/stock", json={"count": 4, "by": 3}).json()
    after = levels()

    assert len(changed["changed"]) == 4
    assert not set(changed["changed"]) & set(siesa_sim.catalog.invalid)
    moved = {key for key in after if after[key] != before[key]}
    assert moved == {(code, "BOD-01") for code in changed["changed"]}
    for code, _ in moved:
        assert float(after[(code, "BOD-01")]) == float(before[(code, "BOD-01")]) + 3  # type: ignore[arg-type]
    assert [r["f_fecha_modificacion"] for r in siesa_sim.catalog.records()] == stamps
