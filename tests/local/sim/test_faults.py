"""Each fault knob, set from Python or over POST /_sim/faults, seen by a real HTTP client."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from local.sim import (
    DEFAULT_KONG_API_KEY,
    DEFAULT_SIESA_API_KEY,
    FaultInjector,
    KongSim,
    SiesaSim,
    SimServer,
    WmsSim,
    generate_catalog,
)
from local.sim.catalog import record_key

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from sim_helpers import assert_schema, kong_product

ERROR = "#/components/schemas/Error"
PRODUCTS = "/inventory/products"


def _statuses(client: httpx.Client, count: int, path: str = PRODUCTS) -> list[int]:
    return [client.get(path, params={"limit": 1}).status_code for _ in range(count)]


# --- counted faults --------------------------------------------------------------------


def test_429_burst_with_retry_after_in_seconds(siesa: httpx.Client, siesa_sim: SiesaSim) -> None:
    siesa_sim.faults.set(rate_limit_next=2, retry_after=7)
    first = siesa.get(PRODUCTS)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "7"
    assert_schema("siesa", ERROR, first.json())
    assert _statuses(siesa, 2) == [429, 200]


def test_429_burst_with_retry_after_as_an_http_date(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    siesa_sim.faults.set(rate_limit_next=1, retry_after=120, retry_after_format="http-date")
    before = datetime.now(UTC).replace(microsecond=0)
    response = siesa.get(PRODUCTS)
    assert response.status_code == 429
    when = parsedate_to_datetime(response.headers["Retry-After"])
    assert response.headers["Retry-After"].endswith(" GMT")
    assert 119 <= (when - before).total_seconds() <= 122


@pytest.mark.parametrize(("knob", "status"), [("error_500_next", 500), ("error_503_next", 503)])
def test_the_next_n_requests_fail_with_5xx(
    siesa: httpx.Client, siesa_sim: SiesaSim, knob: str, status: int
) -> None:
    siesa_sim.faults.set(**{knob: 3})
    assert _statuses(siesa, 4) == [status, status, status, 200]
    assert siesa_sim.faults.snapshot()["injected"] == {knob.removesuffix("_next"): 3}


def test_counted_faults_are_used_one_request_at_a_time_in_a_fixed_order(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    siesa_sim.faults.set(error_500_next=1, rate_limit_next=1, error_503_next=1)
    assert _statuses(siesa, 4) == [429, 503, 500, 200]


def test_rates_draw_from_a_seeded_rng_and_repeat_for_the_same_seed() -> None:
    runs = []
    for _ in range(2):
        sim = SiesaSim(
            generate_catalog(3, seed=1), faults=FaultInjector(error_503_rate=0.5, seed=42)
        )
        headers = {"Authorization": f"Bearer {DEFAULT_SIESA_API_KEY}"}
        with (
            SimServer(sim.wsgi_app) as server,
            httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, verify=False) as client,
        ):
            runs.append(_statuses(client, 30))
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}


def test_a_500_rate_of_one_fails_every_request(siesa: httpx.Client, siesa_sim: SiesaSim) -> None:
    siesa_sim.faults.set(error_500_rate=1.0)
    assert _statuses(siesa, 5) == [500] * 5
    siesa_sim.faults.set(error_500_rate=0.0)
    assert _statuses(siesa, 1) == [200]


def test_a_read_timeout_holds_the_response_past_the_clients_timeout(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    siesa_sim.faults.set(timeout_next=1, timeout_delay_s=30)
    with pytest.raises(httpx.ReadTimeout):
        siesa.get(PRODUCTS, timeout=0.3)
    assert siesa.get(PRODUCTS).status_code == 200
    # stopping the server (fixture teardown) wakes the held request at once


def test_latency_delays_every_request(siesa: httpx.Client, siesa_sim: SiesaSim) -> None:
    siesa_sim.faults.set(latency_ms=40)
    assert _statuses(siesa, 2) == [200, 200]
    # a lower bound only (an unfaulted request takes well under a millisecond)
    assert all(entry.duration_ms >= 35 for entry in siesa_sim.log.entries())


def test_a_dropped_connection_cuts_the_response_half_way(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    siesa_sim.faults.set(drop_connection_next=1)
    with pytest.raises(httpx.RemoteProtocolError):
        siesa.get(PRODUCTS)
    assert siesa.get(PRODUCTS).status_code == 200


def test_a_page_of_malformed_json(siesa: httpx.Client, siesa_sim: SiesaSim) -> None:
    siesa_sim.faults.set(malformed_json_next=1)
    response = siesa.get(PRODUCTS)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert siesa.get(PRODUCTS).json()["data"]


def test_a_credential_revoked_from_request_n_on(siesa: httpx.Client, siesa_sim: SiesaSim) -> None:
    siesa_sim.faults.set(revoke_from_request=3)
    assert _statuses(siesa, 5) == [200, 200, 401, 401, 401]
    assert siesa_sim.faults.requests_seen == 5


# --- a record moves while a client pages ----------------------------------------------------


def test_a_record_modified_between_pages_moves_to_a_later_page(
    siesa: httpx.Client, siesa_sim: SiesaSim
) -> None:
    """The contract's warning: the moved record is seen twice, and one record is not seen."""
    original = siesa_sim.catalog.ids()
    siesa_sim.faults.set(move_record_after_page=2)
    seen: list[dict] = []
    for page in range(1, 4):
        seen.extend(siesa.get(PRODUCTS, params={"page": page, "limit": 100}).json()["data"])
    (event,) = siesa_sim.faults.snapshot()["events"]
    moved = event["id"]
    assert event["after_page"] == 2
    assert moved == original[100]  # the first record of page 2
    codes = [record_key(r) for r in seen]
    assert codes.count(moved) == 2
    first, second = (r for r in seen if record_key(r) == moved)
    assert second["f_fecha_modificacion"] > first["f_fecha_modificacion"]
    assert codes[-1] == moved
    missed = set(original) - set(codes)
    assert missed == {original[200]}  # shifted from page 3 onto page 2 after it was read
    assert siesa_sim.faults.plan.move_record_after_page is None  # it fires once


# --- control over HTTP ---------------------------------------------------------------------


def test_faults_are_set_read_and_reset_over_http(
    siesa_server: SimServer, siesa: httpx.Client
) -> None:
    control = f"{siesa_server.url}/_sim/faults"
    body = httpx.post(control, json={"error_503_next": 1, "latency_ms": 5}).json()
    assert body["plan"]["error_503_next"] == 1 and body["plan"]["latency_ms"] == 5
    assert _statuses(siesa, 2) == [503, 200]
    snapshot = httpx.get(control).json()
    assert snapshot["injected"] == {"error_503": 1}
    assert snapshot["requests_seen"] == 2
    reset = httpx.post(control, json={"reset": True}).json()
    assert reset["plan"]["latency_ms"] == 0 and reset["requests_seen"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"error_503_next": -1},
        {"no_such_knob": 1},
        {"error_500_rate": 2},
        [1],
        {"retry_after_format": "x"},
    ],
)
def test_bad_fault_knobs_are_refused_with_400(siesa_server: SimServer, body: object) -> None:
    response = httpx.post(f"{siesa_server.url}/_sim/faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_sim_endpoints_are_never_faulted_or_counted(
    siesa_server: SimServer, siesa_sim: SiesaSim
) -> None:
    siesa_sim.faults.set(error_503_next=3, revoke_from_request=1)
    assert httpx.get(f"{siesa_server.url}/_sim/state").status_code == 200
    assert httpx.get(f"{siesa_server.url}/_sim/requests").status_code == 200
    assert siesa_sim.faults.requests_seen == 0
    assert siesa_sim.faults.plan.error_503_next == 3


def test_faults_can_be_set_at_construction() -> None:
    sim = KongSim(faults=FaultInjector(error_503_next=1))
    with SimServer(sim.wsgi_app) as server:
        url = f"{server.url}/api/v1/products/bulk"
        headers = {"X-API-Key": DEFAULT_KONG_API_KEY}
        assert httpx.post(url, json=[kong_product()], headers=headers).status_code == 503
        assert httpx.post(url, json=[kong_product()], headers=headers).status_code == 200


def test_wms_faults_are_per_service_over_http(wms_server: SimServer, wms: httpx.Client) -> None:
    control = f"{wms_server.url}/_sim/faults"
    assert (
        httpx.post(control, json={"service": "inventory", "error_500_next": 1}).status_code == 200
    )
    assert wms.get("/warehouse/zones").status_code == 200
    assert wms.get("/inventory/items/X").status_code == 500
    assert wms.get("/inventory/items/X").status_code == 404
    assert httpx.get(control, params={"service": "inventory"}).json()["injected"] == {
        "error_500": 1
    }
    assert httpx.post(control, json={"service": "orders", "error_500_next": 1}).status_code == 404
    assert httpx.post(control, json={"error_500_next": 1}).status_code == 404  # name the service


def test_a_wms_service_on_its_own_server_takes_its_own_faults() -> None:
    sim = WmsSim()
    with SimServer(sim.warehouse_app) as warehouse:
        httpx.post(f"{warehouse.url}/_sim/faults", json={"error_503_next": 1})
        assert sim.faults["warehouse"].plan.error_503_next == 1
        assert sim.faults["inventory"].plan.error_503_next == 0


def test_a_path_answers_its_status_and_a_server_goes_down_after_n_requests(
    siesa_server: SimServer, siesa: httpx.Client
) -> None:
    control = f"{siesa_server.url}/_sim/faults"
    body = {"status_on": {"/api/v1/inventory/": 502, f"/api/v1{PRODUCTS}": 401}, "down_after": 3}
    assert httpx.post(control, json=body).status_code == 200
    assert _statuses(siesa, 1) == [401]  # the longest match wins
    assert _statuses(siesa, 1, "/inventory/stock") == [502]
    assert siesa.get("/nowhere").status_code == 404
    down = siesa.get("/nowhere")
    assert down.status_code == 503 and "down" in down.json()["error"]
    assert httpx.get(control).json()["injected"] == {"status": 2, "down": 1}


def test_a_status_out_of_the_error_range_is_refused(siesa_server: SimServer) -> None:
    control = f"{siesa_server.url}/_sim/faults"
    assert httpx.post(control, json={"status_on": {"/x": 200}}).status_code == 400
