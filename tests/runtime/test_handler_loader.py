"""The loader Lambda end to end: Siesa -> S3 -> Kong/WMS simulators, with moto for AWS."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from local.sim import generate_catalog
from local.sim.keys import DEFAULT_TENANT
from local.sim.ratelimit import most_at_once
from runtime import mapping_loader
from runtime.adapters.base import ProductAdapter
from runtime.adapters.registry import get_adapter_class
from runtime.adapters.results import BatchResult
from runtime.config_store import ConfigStore
from runtime.errors import InvalidEvent, ProductAuthError, ProductUnavailable
from runtime.handlers.deps import Deps
from runtime.handlers.events import Transformed
from runtime.handlers.extractor import lambda_handler as extractor
from runtime.handlers.load_run import load
from runtime.handlers.loader import lambda_handler as loader
from runtime.handlers.transformer import lambda_handler as transformer
from runtime.http import api_key_auth
from runtime.stages.transform import ready_line
from runtime.sync_state import RunHistory

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

EVENTS = Path(__file__).resolve().parents[1] / "events"
SUMMARY_KEYS = {
    "client_id",
    "product_type",
    "status",
    "records_processed",
    "records_success",
    "records_failed",
    "records_rejected",
    "records_skipped",
    "records_left_scope",
    "left_scope",
    "failed_records",
    "failed_records_truncated",
    "failed_records_key",
    "failed_share_percent",
    "failed_records_alert",
    "load_timestamp",
    "duration_seconds",
    "run_id",
    "sync_type",
    "bundle_sha256",
}


def _no_sleep(_: float) -> None:
    """Adapter retries without waiting (the retry schedule itself is tested with the HTTP client)."""


def _through_transformer(
    platform: Any, client_id: str, size: int, *, product_type: str = "kong", **client: Any
) -> dict[str, Any]:
    catalog = generate_catalog(size, seed=9, client=client_id, invalid_share=0.05)
    _, siesa_url = platform.siesa(catalog)
    platform.client(client_id, product_type=product_type, siesa_url=siesa_url, **client)
    transformed = transformer(
        extractor({"client_id": client_id, "sync_type": "incremental"}, None), None
    )
    transformed["_catalog"] = catalog
    return transformed


def _event(transformed: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in transformed.items() if not key.startswith("_")}


def _kong_run_started(aws: Any, mapping_source: str) -> dict[str, Any]:
    """The loader event of a started run of cliente-a, a Kong client with this mapping module."""
    aws.put_bundle({"kong": mapping_source})
    aws.put_client()
    aws.put_secret(
        "cliente-a",
        "kong",
        {"product_type": "kong", "api_url": "https://a.kong.com", "api_key": "k-123456"},
    )
    event: dict[str, Any] = json.loads((EVENTS / "loader_input.json").read_text())
    RunHistory().start(
        "cliente-a", event["run_id"], sync_type="incremental", started_at="2025-01-15T10:00:00Z"
    )
    return event


def test_kong_load_reports_mapping_rejects_and_product_refusals(platform: Any) -> None:
    kong, kong_url = platform.kong()
    transformed = _through_transformer(platform, "cliente-k", 300, product_url=kong_url)
    canonical = [
        line["canonical"]
        for key in transformed["canonical_pages"]
        for line in platform.aws.ndjson(key)
    ]
    tagged = [r for r in canonical if r["rfid_tag_id"]][:3]
    assert len(tagged) == 3
    tenant = kong.tenant(DEFAULT_TENANT)
    for index, record in enumerate(tagged):  # another product already holds these tags
        owner = f"OTHER-{index}"
        tenant.products[owner] = {"product_id": owner, "rfid_tag_id": record["rfid_tag_id"]}
        tenant.tags[record["rfid_tag_id"]] = owner

    summary = loader(_event(transformed), None)

    assert set(summary) == SUMMARY_KEYS
    rejected = transformed["rejected_count"]
    assert rejected > 0
    assert summary["status"] == "partial"
    assert summary["records_processed"] == 300
    assert summary["records_failed"] == rejected + 3
    assert summary["records_success"] == 300 - rejected - 3
    assert summary["failed_records_truncated"] is False
    by_stage: dict[str, set[str]] = {}
    for entry in summary["failed_records"]:
        assert set(entry) == {"id", "stage", "error"} and entry["error"]
        by_stage.setdefault(entry["stage"], set()).add(entry["id"])
    assert by_stage["product"] == {record["id"] for record in tagged}
    assert len(by_stage["mapping"]) == rejected
    assert all(
        "already bound" in e["error"] for e in summary["failed_records"] if e["stage"] == "product"
    )

    full = platform.aws.ndjson(summary["failed_records_key"])
    assert len(full) == summary["records_failed"]
    assert all({"id", "stage", "reason", "retryable", "record"} <= set(line) for line in full)
    stored = set(kong.products(DEFAULT_TENANT)) - {"OTHER-0", "OTHER-1", "OTHER-2"}
    assert stored == {r["id"] for r in canonical} - {r["id"] for r in tagged}
    assert len(stored) == summary["records_success"]

    assert (
        json.loads(platform.aws.object_text(f"runs/cliente-k/{summary['run_id']}/summary.json"))
        == summary
    )
    config = ConfigStore().get("cliente-k")
    assert (config.last_sync_status, config.last_sync_records, config.last_sync_timestamp) == (
        "partial",
        summary["records_success"],
        summary["load_timestamp"],
    )
    assert config.last_sync_watermark == transformed["watermark"]
    run = RunHistory().get("cliente-k", summary["run_id"])
    assert (
        run is not None
        and run["status"] == "partial"
        and run["records_failed"] == summary["records_failed"]
    )


def test_a_second_run_is_incremental_from_the_first_runs_watermark(platform: Any) -> None:
    _, kong_url = platform.kong()
    transformed = _through_transformer(platform, "cliente-w", 30, product_url=kong_url)
    loader(_event(transformed), None)
    watermark = ConfigStore().get("cliente-w").last_sync_watermark
    assert watermark == transformed["watermark"]
    again = extractor({"client_id": "cliente-w", "sync_type": "incremental"}, None)
    assert again["count"] == 0  # nothing changed since the first run started
    summary = loader(transformer(again, None), None)
    assert (summary["status"], summary["records_processed"]) == ("success", 0)


def test_batches_respect_batch_size(platform: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_SIZE", "40")
    kong, kong_url = platform.kong()
    transformed = _through_transformer(platform, "cliente-b", 130, product_url=kong_url)
    summary = loader(_event(transformed), None)
    bulk_calls = [e for e in kong.log.entries() if e.path.endswith("/products/bulk")]
    assert len(bulk_calls) == -(-transformed["count"] // 40)
    assert summary["records_success"] == transformed["count"]


def test_batches_go_to_the_product_at_once_and_the_run_reads_as_one_at_a_time(
    platform: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCH_SIZE", "10")
    kong, kong_url = platform.kong()
    kong.faults.set(latency_ms=30)
    transformed = _through_transformer(platform, "cliente-q", 130, product_url=kong_url)
    tagged = [
        line["canonical"]
        for key in transformed["canonical_pages"]
        for line in platform.aws.ndjson(key)
        if line["canonical"]["rfid_tag_id"]
    ][::5]
    assert len(tagged) >= 4
    tenant = kong.tenant(DEFAULT_TENANT)
    for index, record in enumerate(tagged):  # refused by the product, in batches all along
        tenant.tags[record["rfid_tag_id"]] = f"OTHER-{index}"
    event = Transformed.model_validate(_event(transformed))
    one_at_a_time = load(event, Deps(product_concurrency=1))
    first = len(kong.log.entries())
    at_once = load(event, Deps())  # the workflow's retry of the run: the config's 4 at once

    def bulk_spans(entries: list[Any]) -> list[tuple[float, float]]:
        return [
            (e.arrived, e.arrived + e.duration_ms / 1000)
            for e in entries
            if e.path.endswith("/products/bulk")
        ]

    assert most_at_once(bulk_spans(kong.log.entries()[:first])) == 1
    assert most_at_once(bulk_spans(kong.log.entries()[first:])) == 4
    for key in ("status", "records_processed", "records_success", "records_failed"):
        assert at_once[key] == one_at_a_time[key], key
    assert at_once["failed_records"] == one_at_a_time["failed_records"]  # same lines, same order
    assert {line["stage"] for line in at_once["failed_records"]} == {"mapping", "product"}


def test_refused_product_credentials_stop_the_run(platform: Any) -> None:
    _, kong_url = platform.kong()
    transformed = _through_transformer(
        platform, "cliente-u", 20, product_url=kong_url, product_key="wrong-key-123"
    )
    with pytest.raises(ProductAuthError):
        loader(_event(transformed), None)
    config = ConfigStore().get("cliente-u")
    assert config.last_sync_status == "failed" and config.last_sync_watermark is None
    run = RunHistory().get("cliente-u", transformed["run_id"])
    assert run is not None and run["status"] == "failed" and "ProductAuthError" in run["error"]


def test_a_product_down_fails_the_run_until_the_workflows_retry_resumes_it(platform: Any) -> None:
    kong, kong_url = platform.kong()
    transformed = _through_transformer(platform, "cliente-o", 20, product_url=kong_url)
    kong.faults.set(error_503_next=50)
    deps = Deps(
        adapter_class=lambda product_type: functools.partial(
            get_adapter_class(product_type), sleep=_no_sleep
        )
    )
    with pytest.raises(ProductUnavailable):
        load(Transformed.model_validate(_event(transformed)), deps)
    run = RunHistory().get("cliente-o", transformed["run_id"])
    assert run is not None and run["status"] == "failed" and run["retryable"] is True
    assert "ProductUnavailable" in run["error"]
    assert ConfigStore().get("cliente-o").last_sync_status is None

    kong.faults.reset()
    summary = load(Transformed.model_validate(_event(transformed)), deps)  # the workflow's retry
    assert summary["status"] == ("partial" if transformed["rejected_count"] else "success")
    assert summary["records_success"] == transformed["count"]
    assert RunHistory().get("cliente-o", transformed["run_id"])["status"] == summary["status"]  # type: ignore[index]


def test_wms_uses_its_per_service_endpoints(platform: Any) -> None:
    wms, wms_url, endpoints = platform.wms(separate_services=True)
    transformed = _through_transformer(
        platform,
        "cliente-v",
        60,
        product_type="wms",
        product_url=wms_url,
        service_endpoints=endpoints,
    )
    summary = loader(_event(transformed), None)
    assert summary["product_type"] == "wms"
    assert summary["records_success"] > 0
    assert len(wms.items(DEFAULT_TENANT)) == summary["records_success"]
    paths = {entry.path for entry in wms.log.entries()}
    assert "/items/bulk" in paths and "/locations" in paths
    assert not any(path.startswith("/api/v1/") for path in paths)  # nothing went to api_url


def test_the_failed_list_is_capped_in_the_summary_but_complete_in_s3(
    aws: Any, kong_mapping_source: str
) -> None:
    event = _kong_run_started(aws, kong_mapping_source)
    rejects = [
        {
            "id": f"P{n:05d}",
            "stage": "mapping",
            "reason": "name: required value is missing",
            "retryable": False,
            "record": {},
        }
        for n in range(1100)
    ]
    aws.s3.put_object(
        Bucket=aws.bucket,
        Key=event["rejected_key"],
        Body="\n".join(map(json.dumps, rejects)).encode(),
    )
    event["canonical_pages"] = []
    event["count"] = 0
    event["rejected_count"] = 1100

    summary = loader(event, None)
    assert (summary["status"], summary["records_processed"], summary["records_failed"]) == (
        "failed",
        1100,
        1100,
    )
    assert len(summary["failed_records"]) == 1000 and summary["failed_records_truncated"] is True
    assert len(json.dumps(summary)) < 200_000
    assert [line["id"] for line in aws.ndjson(summary["failed_records_key"])] == [
        r["id"] for r in rejects
    ]
    config = ConfigStore().get("cliente-a")
    assert config.last_sync_status == "failed" and config.last_sync_watermark is None


class ForgetfulAdapter(ProductAdapter):
    """A product whose bulk call answers for every record but the last: the loader must not lose it."""

    display_name = "Forgetful"
    id_field = "product_id"
    stored: ClassVar[list[str]] = []

    def make_auth(self) -> httpx.Auth:
        return api_key_auth("X-API-Key", self.credentials.api_key)

    def send(self, products: list[dict[str, Any]], result: BatchResult) -> None:
        for product in products[:-1]:
            ForgetfulAdapter.stored.append(product["product_id"])
            result.succeed(product["product_id"], "created")


def test_records_without_an_outcome_are_failed_not_lost(aws: Any, kong_mapping_source: str) -> None:
    event = _kong_run_started(aws, kong_mapping_source)
    lines = [
        ready_line(
            {"id": code, "name": "n", "stock_quantity": 1},
            {"product_id": code, "name": "n", "quantity": 1},
            f"{event['extracted_pages'][0]}#{number}",
        )
        for number, code in enumerate(("A", "C", "D"), start=1)
    ]
    page = event["canonical_pages"][0]
    aws.s3.put_object(Bucket=aws.bucket, Key=page, Body="\n".join(map(json.dumps, lines)).encode())
    aws.s3.put_object(Bucket=aws.bucket, Key=event["rejected_key"], Body=b"")
    event["canonical_pages"] = [page]
    ForgetfulAdapter.stored.clear()

    summary = load(
        Transformed.model_validate(event), Deps(adapter_class=lambda _: ForgetfulAdapter)
    )
    assert ForgetfulAdapter.stored == ["A", "C"]
    assert (
        summary["records_processed"],
        summary["records_success"],
        summary["records_failed"],
    ) == (3, 2, 1)
    failed = {entry["id"]: entry for entry in summary["failed_records"]}
    assert failed["D"]["stage"] == "product" and "no outcome" in failed["D"]["error"]


def test_the_loader_loads_no_mapping_it_runs_with_the_bundle_deleted(platform: Any) -> None:
    """The transformer made the product records: the loader needs nothing of the bundle."""
    kong, kong_url = platform.kong()
    transformed = _through_transformer(platform, "cliente-n", 40, product_url=kong_url)
    bundle = platform.aws.keys("mappings/")
    assert bundle
    for key in bundle:
        platform.aws.s3.delete_object(Bucket=platform.aws.bucket, Key=key)
    mapping_loader.clear_cache()

    summary = loader(_event(transformed), None)

    assert summary["status"] in ("success", "partial")
    assert summary["records_success"] == transformed["count"] > 0
    assert mapping_loader.cached_hashes() == frozenset()  # no module was loaded
    assert set(kong.products(DEFAULT_TENANT)) == {
        line["id"] for key in transformed["canonical_pages"] for line in platform.aws.ndjson(key)
    }
    failed = platform.aws.ndjson(summary["failed_records_key"])
    assert all(line["stage"] == "mapping" for line in failed)


def test_an_event_for_another_product_is_refused(aws: Any, kong_mapping_source: str) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    aws.put_client()
    event = json.loads((EVENTS / "loader_input.json").read_text())
    RunHistory().start("cliente-a", event["run_id"], sync_type="incremental", started_at="t")
    event["product_type"] = "wms"
    with pytest.raises(InvalidEvent, match="product_type 'wms'"):
        loader(event, None)
    assert RunHistory().get("cliente-a", event["run_id"])["status"] == "failed"  # type: ignore[index]


@pytest.mark.parametrize(
    "missing", ["canonical_pages", "rejected_key", "validation_errors", "watermark"]
)
def test_a_malformed_event_names_the_field(aws: Any, missing: str) -> None:
    event = json.loads((EVENTS / "loader_input.json").read_text())
    del event[missing]
    with pytest.raises(InvalidEvent, match=f"field '{missing}'"):
        loader(event, None)


def test_the_output_fixture_has_the_summary_shape() -> None:
    assert set(json.loads((EVENTS / "loader_output.json").read_text())) == SUMMARY_KEYS
