"""The extractor Lambda end to end: the Siesa simulator on loopback, moto's DynamoDB, S3 and Secrets Manager."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from local.sim import generate_catalog
from local.sim.catalog import parse_erp_timestamp
from runtime.config_store import ConfigStore
from runtime.errors import (
    ClientDisabled,
    ClientNotFound,
    InvalidEvent,
    InvalidSecret,
    SiesaAuthError,
    SiesaUnavailable,
)
from runtime.handlers.deps import Deps
from runtime.handlers.events import ExtractRequest
from runtime.handlers.extract_run import extract
from runtime.handlers.extractor import lambda_handler
from runtime.siesa import make_source
from runtime.sync_state import RunHistory

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

EVENTS = Path(__file__).resolve().parents[1] / "events"
OUTPUT_KEYS = {
    "page_count",
    "page_concurrency",
    "inline_max_pages",
    "mode",
    "page_key",
    "client_id",
    "product_type",
    "sync_type",
    "run_id",
    "bucket",
    "extracted_pages",
    "count",
    "extraction_timestamp",
    "watermark",
}


def _catalog_client(platform: Any, client_id: str, size: int, **overrides: Any) -> tuple[Any, Any]:
    catalog = generate_catalog(size, seed=3, client=client_id)
    siesa, siesa_url = platform.siesa(catalog)
    platform.client(
        client_id,
        product_type="kong",
        siesa_url=siesa_url,
        product_url="https://x.kong.com/api/v1",
        **overrides,
    )
    return catalog, siesa


def _stored_records(platform: Any, keys: list[str]) -> list[dict[str, Any]]:
    return [record for key in keys for record in platform.aws.ndjson(key)]


def test_an_initial_sync_of_2500_records_lands_in_pages(platform: Any) -> None:
    catalog, siesa = _catalog_client(platform, "cliente-p", 2500)
    before = datetime.now(UTC).replace(microsecond=0)
    out = lambda_handler({"client_id": "cliente-p", "sync_type": "initial"}, None)
    after = datetime.now(UTC)

    assert set(out) == OUTPUT_KEYS
    assert (out["client_id"], out["product_type"], out["sync_type"], out["count"]) == (
        "cliente-p",
        "kong",
        "initial",
        2500,
    )
    assert out["bucket"] == "siesa-integration-config"
    assert out["extracted_pages"] == [
        f"runs/cliente-p/{out['run_id']}/extracted/page-{n:05d}.ndjson" for n in (1, 2, 3)
    ]
    stored = _stored_records(platform, out["extracted_pages"])
    assert stored == catalog.records()
    started = datetime.fromisoformat(out["extraction_timestamp"].replace("Z", "+00:00"))
    assert before <= started <= after
    assert out["run_id"].startswith(started.strftime("%Y%m%dT%H%M%SZ"))
    watermark = datetime.fromisoformat(out["watermark"])
    assert watermark == started and watermark.utcoffset().total_seconds() == -5 * 3600  # type: ignore[union-attr]
    product_requests = [
        entry for entry in siesa.log.entries() if entry.path.endswith("/inventory/products")
    ]
    assert len(product_requests) == 3
    assert all("modified_since" not in parse_qs(entry.query) for entry in product_requests)
    run = RunHistory().get("cliente-p", out["run_id"])
    assert run is not None
    assert (run["status"], run["sync_type"], run["extracted_count"], run["watermark"]) == (
        "running",
        "initial",
        2500,
        out["watermark"],
    )
    assert len(json.dumps(out)) < 2_000  # the claim-check, not the records, travels


def test_an_incremental_sync_asks_only_for_changes_since_the_watermark(platform: Any) -> None:
    catalog = generate_catalog(300, seed=5, client="cliente-i")
    cut = parse_erp_timestamp(catalog.records()[200]["f_fecha_modificacion"])
    watermark = cut.isoformat()
    siesa, siesa_url = platform.siesa(catalog)
    platform.client(
        "cliente-i",
        product_type="kong",
        siesa_url=siesa_url,
        product_url="https://x.kong.com/api/v1",
        last_sync_watermark=watermark,
    )
    out = lambda_handler({"client_id": "cliente-i", "sync_type": "incremental"}, None)

    expected = [
        r for r in catalog.records() if parse_erp_timestamp(r["f_fecha_modificacion"]) >= cut
    ]
    assert out["count"] == len(expected) and 0 < len(expected) < 300
    assert _stored_records(platform, out["extracted_pages"]) == expected
    (request,) = [e for e in siesa.log.entries() if e.path.endswith("/inventory/products")]
    assert parse_qs(request.query)["modified_since"] == [watermark]
    assert RunHistory().get("cliente-i", out["run_id"])["modified_since"] == watermark  # type: ignore[index]


def test_an_incremental_sync_without_a_watermark_takes_everything(platform: Any) -> None:
    _, siesa = _catalog_client(platform, "cliente-n", 40)
    out = lambda_handler({"client_id": "cliente-n", "sync_type": "incremental"}, None)
    assert out["count"] == 40
    (request,) = [e for e in siesa.log.entries() if e.path.endswith("/inventory/products")]
    assert "modified_since" not in parse_qs(request.query)


@pytest.mark.parametrize("run_page_size", ["300", "5000"])
def test_a_record_that_moves_while_paging_keeps_only_its_newest_copy(
    platform: Any, monkeypatch: pytest.MonkeyPatch, run_page_size: str
) -> None:
    # 300: the stale copy sits in a page already written (rewritten at the end);
    # 5000: it is still in the open page (replaced in place).
    monkeypatch.setenv("RUN_PAGE_SIZE", run_page_size)
    catalog, siesa = _catalog_client(platform, "cliente-d", 2100)
    first_code = catalog.records()[0]["f_codigo"].strip()
    siesa.faults.set(move_record_after_page=1)
    out = lambda_handler({"client_id": "cliente-d", "sync_type": "initial"}, None)

    (event,) = siesa.faults.snapshot()["events"]
    assert event["id"] == first_code
    stored = _stored_records(platform, out["extracted_pages"])
    codes = [record["f_codigo"].strip() for record in stored]
    assert len(codes) == len(set(codes)) == out["count"]
    # offset paging shifts one record back onto the page already read: the listing is paged
    # again, so none is missed (the watermark would pass it), and none is kept twice
    assert out["count"] == 2100
    assert set(codes) == {record["f_codigo"].strip() for record in catalog.records()}
    (moved,) = [record for record in stored if record["f_codigo"].strip() == first_code]
    assert moved["f_fecha_modificacion"] == event["f_fecha_modificacion"]
    assert RunHistory().get("cliente-d", out["run_id"])["duplicates_dropped"] >= 1  # type: ignore[index]


def test_a_disabled_client_is_refused_before_any_run(platform: Any) -> None:
    _catalog_client(platform, "cliente-x", 5, enabled=False)
    with pytest.raises(ClientDisabled):
        lambda_handler({"client_id": "cliente-x", "sync_type": "incremental"}, None)
    assert RunHistory().list("cliente-x") == []


def test_an_unknown_client(platform: Any) -> None:
    with pytest.raises(ClientNotFound):
        lambda_handler({"client_id": "cliente-nadie"}, None)


def test_a_bad_secret_fails_the_run_with_a_clear_error(platform: Any) -> None:
    _catalog_client(platform, "cliente-s", 5)
    platform.aws.put_secret("cliente-s", "siesa", "{not json")
    with pytest.raises(InvalidSecret, match="siesa-integration/cliente-s/siesa"):
        lambda_handler({"client_id": "cliente-s", "sync_type": "initial"}, None)
    (run,) = RunHistory().list("cliente-s")
    assert run["status"] == "failed" and "InvalidSecret" in run["error"]
    assert ConfigStore().get("cliente-s").last_sync_status == "failed"


def test_refused_siesa_credentials_stop_the_run(platform: Any) -> None:
    _catalog_client(platform, "cliente-r", 5, siesa_key="not-the-key-siesa-accepts")
    with pytest.raises(SiesaAuthError):
        lambda_handler({"client_id": "cliente-r", "sync_type": "initial"}, None)
    (run,) = RunHistory().list("cliente-r")
    assert run["status"] == "failed" and "SiesaAuthError" in run["error"]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"sync_type": "initial"}, "client_id"),
        ({"client_id": "../etc", "sync_type": "initial"}, "client_id"),
        ({"client_id": "cliente-a", "sync_type": "weekly"}, "sync_type"),
        ({"client_id": "cliente-a", "run_id": "yesterday"}, "run_id"),
    ],
)
def test_a_malformed_event_names_the_field(aws: Any, event: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidEvent, match=f"field '{field}'"):
        lambda_handler(event, None)


def test_the_scheduled_event_fixture_runs(platform: Any) -> None:
    event = json.loads((EVENTS / "extractor_scheduled.json").read_text())
    _catalog_client(platform, event["client_id"], 12)
    out = lambda_handler(event, None)
    assert out["sync_type"] == "incremental" and out["count"] == 12


def _no_sleep(_: float) -> None:
    """Retry without waiting (the retry schedule itself is the HTTP client's tests' business)."""


def test_an_erp_outage_ends_the_run_and_leaves_the_client_status_to_the_retry(
    platform: Any,
) -> None:
    _, siesa = _catalog_client(platform, "cliente-o", 10)
    siesa.faults.set(error_503_next=100)
    deps = Deps(source_factory=functools.partial(make_source, sleep=_no_sleep))
    with pytest.raises(SiesaUnavailable):
        extract(ExtractRequest(client_id="cliente-o", sync_type="initial"), deps)
    (run,) = RunHistory().list("cliente-o")
    assert run["status"] == "failed" and "SiesaUnavailable" in run["error"]
    assert ConfigStore().get("cliente-o").last_sync_status is None  # the workflow's retry decides


def test_an_outage_with_the_callers_run_id_fails_the_run_until_the_retry_resumes_it(
    platform: Any,
) -> None:
    catalog, siesa = _catalog_client(platform, "cliente-q", 10)
    siesa.faults.set(error_503_next=100)
    deps = Deps(source_factory=functools.partial(make_source, sleep=_no_sleep))
    request = ExtractRequest(
        client_id="cliente-q", sync_type="initial", run_id="20250115T100000Z-abc123"
    )
    with pytest.raises(SiesaUnavailable):
        extract(request, deps)
    run = RunHistory().get("cliente-q", "20250115T100000Z-abc123")
    # failed at once: if the workflow's retries are spent, nothing else would end it
    assert run is not None and run["status"] == "failed" and run["retryable"] is True
    assert "SiesaUnavailable" in run["error"] and "SiesaUnavailable" in run["last_error"]
    siesa.faults.reset()
    out = extract(request, deps)  # the workflow retries the same run
    assert out.run_id == "20250115T100000Z-abc123" and out.count == len(catalog)
    run = RunHistory().get("cliente-q", "20250115T100000Z-abc123")
    assert (
        run is not None and run["status"] == "running" and "SiesaUnavailable" in run["last_error"]
    )
