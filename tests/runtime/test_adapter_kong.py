"""The Kong adapter against loopback servers that follow kong.openapi.yaml."""

from __future__ import annotations

import sys
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from werkzeug.wrappers import Request

from runtime.adapters.base import ProductAdapter
from runtime.adapters.kong import KongAdapter
from runtime.adapters.registry import get_adapter_class
from runtime.config import ClientConfig, ProductCredentials
from runtime.errors import ProductAuthError, ProductRateLimited, ProductUnavailable
from runtime.http import ApiCall, RetryPolicy

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from http_fixtures import ProductStoreApp, Reply, Sleeps, quiet_budget, raw_server, serve

KEY = "kong-key-7c3e91d2-unique"
BULK = "/api/v1/products/bulk"
TAGS = "/api/v1/rfid/tags"
GOOD_EAN = "7701234567897"
TAG_A = "E2801170000002012345678A"
TAG_B = "E2801170000002012345678B"


def kong_mapping() -> ModuleType:
    """A compiled-mapping-shaped module: `to_product` from canonical to Kong's format."""
    module = ModuleType("kong_mapping_under_test")

    def to_product(canonical: dict[str, Any]) -> dict[str, Any]:
        return {
            "product_id": canonical["id"],
            "external_reference": canonical.get("external_id") or canonical["id"],
            "name": canonical["name"],
            "barcode": canonical.get("ean"),
            "quantity": canonical["stock_quantity"],
            "rfid_tag_id": canonical.get("rfid_tag_id"),
        }

    module.to_product = to_product  # type: ignore[attr-defined]
    return module


def canonical(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"P{n:04d}",
        "name": f"Camisa {n}",
        "ean": GOOD_EAN,
        "stock_quantity": n % 7,
    } | fields


def kong_app() -> ProductStoreApp:
    return ProductStoreApp(
        auth=("X-API-Key", KEY),
        bulk_path=BULK,
        keys=("product_id", "name", "quantity", "barcode"),
        tags_path=TAGS,
    )


def kong(url: str, *, key: str = KEY, rfid: bool = True, **options: Any) -> ProductAdapter:
    options.setdefault("sleep", Sleeps())
    options.setdefault("budget", quiet_budget(None))  # a 429's pause waits on a fake clock
    credentials = ProductCredentials(
        product_type="kong",
        api_url=url + "/api/v1",
        api_key=key,
        additional_config={"rfid_enabled": rfid},
    )
    config = ClientConfig(
        client_id="cliente-a",
        client_name="Empresa A",
        product_type="kong",
        siesa_api_url="https://cliente-a.siesa.example/api/v1",
        product_api_url=url + "/api/v1",
    )
    adapter_class = get_adapter_class("kong")
    return adapter_class(credentials, config, kong_mapping(), **options)  # type: ignore[call-arg]


def load(adapter: ProductAdapter, records: list[dict[str, Any]]) -> Any:
    return adapter.load_batch(adapter.transform_products(records))


def test_the_registry_gives_the_kong_adapter() -> None:
    assert get_adapter_class("kong") is KongAdapter
    assert KongAdapter.product_type == "kong"


def test_loads_in_requests_of_at_most_100_and_upserts() -> None:
    app = kong_app()
    records = [canonical(n) for n in range(250)]
    with serve(app) as url, kong(url) as adapter:
        first = load(adapter, records)
        again = load(adapter, records[:3])
        changed = load(adapter, [canonical(0, name="Camisa roja")])
    assert [len(s.body) for s in app.requests_to("POST", BULK)][:3] == [100, 100, 50]
    assert first.succeeded == [r["id"] for r in records]
    assert first.failed == []
    assert set(first.statuses.values()) == {"created"}
    assert again.statuses == {"P0000": "unchanged", "P0001": "unchanged", "P0002": "unchanged"}
    assert changed.statuses == {"P0000": "updated"}
    sent = app.requests_to("POST", BULK)[0]
    assert sent.headers["X-Api-Key"] == KEY
    assert sent.body[1] == kong_mapping().to_product(records[1])
    assert app.requests_to("POST", TAGS) == [], "no record carried a tag"


def test_per_item_errors_fail_only_that_record_with_the_products_message() -> None:
    app = kong_app()
    records = [canonical(1), canonical(2, ean="1234567890123"), canonical(3)]
    with serve(app) as url, kong(url) as adapter:
        result = load(adapter, records)
    assert result.succeeded == ["P0001", "P0003"]
    assert [(f.id, f.reason, f.stage, f.retryable) for f in result.failed] == [
        ("P0002", "Kong: Invalid EAN format", "product", False)
    ]


def test_a_batch_refused_whole_is_split_until_the_culprit_is_found() -> None:
    app = kong_app()
    store = app.handlers[("POST", BULK)]

    def refuse_poison(request: Request) -> Reply:
        if any(item["name"] == "POISON" for item in request.get_json()):
            return Reply(400, {"error": "payload rejected: unsupported character in name"})
        return store(request)

    app.handle("POST", BULK, refuse_poison)
    records = [canonical(n) for n in range(100)]
    records[37]["name"] = "POISON"
    with serve(app) as url, kong(url) as adapter:
        result = load(adapter, records)
    assert len(result.succeeded) == 99
    assert [(f.id, f.reason) for f in result.failed] == [
        (
            "P0037",
            "Kong POST /api/v1/products/bulk answered 400: payload rejected: unsupported character in name",
        )
    ]
    assert len(app.requests_to("POST", BULK)) <= 15, "bisection, not one request per record"


def test_refused_credentials_stop_at_once() -> None:
    app = kong_app()
    sleeps = Sleeps()
    with (
        serve(app) as url,
        kong(url, key="wrong-key", sleep=sleeps) as adapter,
        pytest.raises(ProductAuthError, match="answered 401: invalid credentials"),
    ):
        load(adapter, [canonical(1)])
    assert len(app.requests_to("POST", BULK)) == 1
    assert sleeps.calls == []


def test_429_waits_retry_after_in_seconds_and_as_a_date() -> None:
    app = kong_app()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    app.script(
        "POST",
        BULK,
        Reply(429, {"error": "slow down"}, {"Retry-After": "12"}),
        Reply(429, {"error": "slow down"}, {"Retry-After": when}),
    )
    sleeps = Sleeps()
    with serve(app) as url, kong(url, sleep=sleeps) as adapter:
        result = load(adapter, [canonical(1)])
    assert result.succeeded == ["P0001"]
    assert sleeps.calls[0] == 12.0
    assert 25.0 <= sleeps.calls[1] <= 30.0


class RecordingBudget:
    """A budget that lets everything through and notes what the API asked of it."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        self.paused: list[tuple[str, float]] = []

    def acquire(self, key: str, max_wait: float | None = None) -> float:
        self.taken.append(key)
        return 0.0

    def pause(self, key: str, seconds: float) -> None:
        self.paused.append((key, seconds))


def test_every_attempt_takes_from_the_clients_budget_and_a_429_pauses_it() -> None:
    app = kong_app()
    app.script("POST", BULK, Reply(429, {"error": "slow down"}, {"Retry-After": "12"}))
    budget = RecordingBudget()
    with serve(app) as url, kong(url, rfid=False, budget=budget) as adapter:
        assert load(adapter, [canonical(1)]).succeeded == ["P0001"]
    assert budget.taken == ["cliente-a", "cliente-a"]  # the 429 and its retry
    assert budget.paused == [("cliente-a", 12.0)]  # so the client's other workers wait too


def test_a_budget_held_past_the_retry_cap_sends_nothing_and_leaves_it_to_the_workflow() -> None:
    app = kong_app()
    budget = quiet_budget(None)
    budget.pause("cliente-a", 600.0)  # another worker's 429 said: ten minutes
    sleeps = Sleeps()
    with (
        serve(app) as url,
        kong(url, budget=budget, sleep=sleeps) as adapter,
        pytest.raises(ProductRateLimited, match=r"was not sent: .*paused after a 429") as held,
    ):
        load(adapter, [canonical(1)])
    assert held.value.retry_after == pytest.approx(600.0)
    assert app.requests_to("POST", BULK) == [] and sleeps.calls == []


def test_429_that_persists_raises_rate_limited() -> None:
    app = kong_app()
    app.handle("POST", BULK, lambda r: Reply(429, {"error": "slow down"}, {"Retry-After": "1"}))
    with serve(app) as url, kong(url) as adapter, pytest.raises(ProductRateLimited):
        load(adapter, [canonical(1)])


def test_500_is_retried_three_times_then_product_unavailable() -> None:
    app = kong_app()
    app.handle("POST", BULK, lambda r: Reply(500, {"error": "database down"}))
    with (
        serve(app) as url,
        kong(url) as adapter,
        pytest.raises(ProductUnavailable, match="answered 500: database down"),
    ):
        load(adapter, [canonical(1)])
    assert len(app.requests_to("POST", BULK)) == 4


def test_500_then_recovery_loads() -> None:
    app = kong_app()
    app.script("POST", BULK, Reply(500, {"error": "x"}), Reply(500, {"error": "x"}))
    with serve(app) as url, kong(url) as adapter:
        assert load(adapter, [canonical(1)]).succeeded == ["P0001"]


def test_503_backs_off_exponentially_until_the_attempts_end() -> None:
    app = kong_app()
    app.handle("POST", BULK, lambda r: Reply(503, {"error": "maintenance"}))
    sleeps = Sleeps()
    with (
        serve(app) as url,
        kong(url, sleep=sleeps) as adapter,
        pytest.raises(ProductUnavailable, match="answered 503"),
    ):
        load(adapter, [canonical(1)])
    assert len(app.requests_to("POST", BULK)) == 6
    assert len(sleeps.calls) == 5
    assert all(0.0 <= wait <= min(30.0, 2.0**n) for n, wait in enumerate(sleeps.calls))


def test_dropped_connections_end_as_product_unavailable() -> None:
    with (
        raw_server("drop") as url,
        kong(url, policy=RetryPolicy(max_attempts=2)) as adapter,
        pytest.raises(ProductUnavailable, match="connection failed"),
    ):
        load(adapter, [canonical(1)])


def test_tags_are_associated_for_stored_products_that_carry_one() -> None:
    app = kong_app()
    records = [
        canonical(1, rfid_tag_id=TAG_A),
        canonical(2),
        canonical(3, rfid_tag_id=TAG_B, ean="bad"),
    ]
    with serve(app) as url, kong(url) as adapter:
        result = load(adapter, records)
    assert [s.body for s in app.requests_to("POST", TAGS)] == [
        [{"product_id": "P0001", "rfid_tag_id": TAG_A}]
    ]
    assert result.succeeded == ["P0002", "P0001"]
    assert [f.id for f in result.failed] == ["P0003"]
    assert app.tags == {TAG_A: "P0001"}


def test_a_refused_tag_fails_that_record() -> None:
    app = kong_app()
    with serve(app) as url, kong(url) as adapter:
        load(adapter, [canonical(1, rfid_tag_id=TAG_A)])
        result = load(adapter, [canonical(2, rfid_tag_id=TAG_A), canonical(3, rfid_tag_id=TAG_B)])
    assert result.succeeded == ["P0003"]
    assert [(f.id, f.reason) for f in result.failed] == [
        (
            "P0002",
            f"product stored, but RFID tag {TAG_A} was refused: Kong: tag already bound to P0001",
        )
    ]


def test_tag_association_can_be_switched_off() -> None:
    app = kong_app()
    with serve(app) as url, kong(url, rfid=False) as adapter:
        result = load(adapter, [canonical(1, rfid_tag_id=TAG_A)])
    assert result.succeeded == ["P0001"]
    assert app.requests_to("POST", TAGS) == []


def test_invalid_products_fail_without_a_call() -> None:
    app = kong_app()
    records = [
        canonical(1, name=""),
        canonical(2, stock_quantity=-4),
        canonical(3, id="P 3"),
        canonical(4),
    ]
    with serve(app) as url, kong(url) as adapter:
        result = load(adapter, records)
    assert result.succeeded == ["P0004"]
    assert [(f.id, f.reason) for f in result.failed] == [
        ("P0001", "Kong needs: missing name"),
        ("P0002", "Kong needs: quantity must be a whole number >= 0, got -4"),
        ("P 3", "Kong needs: product_id must be 1..64 characters of A-Z a-z 0-9 . _ -"),
    ]
    assert [len(s.body) for s in app.requests_to("POST", BULK)] == [1]


def test_a_record_the_product_did_not_answer_for_fails_as_retryable() -> None:
    app = kong_app()
    app.script("POST", BULK, Reply(200, {"results": [{"id": "P0002", "status": "created"}]}))
    with serve(app) as url, kong(url) as adapter:
        result = load(adapter, [canonical(1), canonical(2)])
    assert result.succeeded == ["P0002"]
    assert [(f.id, f.retryable) for f in result.failed] == [("P0001", True)]
    assert result.records_processed == 2


def test_every_call_reports_latency() -> None:
    app = kong_app()
    calls: list[ApiCall] = []
    with serve(app) as url, kong(url, on_latency=calls.append) as adapter:
        load(adapter, [canonical(1, rfid_tag_id=TAG_A)])
    assert [(c.api, c.operation, c.status) for c in calls] == [
        ("Kong", "POST /api/v1/products/bulk", 200),
        ("Kong", "POST /api/v1/rfid/tags", 200),
    ]


def test_no_error_or_reason_carries_the_api_key() -> None:
    echo = f"key {KEY} is not valid for X-API-Key"
    app = kong_app()
    app.script(
        "POST",
        BULK,
        Reply(401, {"error": echo}),
        Reply(503, {"error": echo}),
        Reply(200, {"results": [{"id": "P0001", "status": "error", "error": echo}]}),
        Reply(400, {"error": echo}),
    )
    errors: list[BaseException] = []
    reasons: list[str] = []
    with serve(app) as url, kong(url, policy=RetryPolicy(max_attempts=1)) as adapter:
        for _ in range(4):
            try:
                reasons += [f.reason for f in load(adapter, [canonical(1)]).failed]
            except Exception as exc:
                errors.append(exc)
    assert [type(e) for e in errors] == [ProductAuthError, ProductUnavailable]
    assert len(reasons) == 2
    for text in [*reasons, *("".join(traceback.format_exception(e)) for e in errors)]:
        assert KEY not in text
        assert "[redacted]" in text
