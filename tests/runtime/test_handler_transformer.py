"""The transformer Lambda end to end: extracted pages through the compiled kong.map, via moto's S3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.sim import generate_catalog
from runtime import mapping_loader
from runtime.errors import BundleIntegrityError, InvalidEvent
from runtime.handlers.extractor import lambda_handler as extractor
from runtime.handlers.transformer import lambda_handler as transformer
from runtime.sync_state import RunHistory

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

EVENTS = Path(__file__).resolve().parents[1] / "events"
ADDED_KEYS = {
    "canonical_pages",
    "rejected_count",
    "rejected_key",
    "transformation_timestamp",
    "validation_errors",
    "retried_key",
    "retried_count",
    "skipped_count",
    "skipped_key",
    "mapping_sha256",
    "bundle_sha256",
}


def _extracted(
    platform: Any, client_id: str, size: int, *, seed: int = 7
) -> tuple[Any, dict[str, Any]]:
    catalog = generate_catalog(size, seed=seed, client=client_id, invalid_share=0.05)
    _, siesa_url = platform.siesa(catalog)
    platform.client(
        client_id, product_type="kong", siesa_url=siesa_url, product_url="https://x.kong.com/api/v1"
    )
    return catalog, extractor({"client_id": client_id, "sync_type": "initial"}, None)


def test_records_become_canonical_pages_a_report_and_rejects(platform: Any) -> None:
    catalog, extracted = _extracted(platform, "cliente-t", 400)
    out = transformer(extracted, None)

    assert set(out) == set(extracted) | ADDED_KEYS
    assert {key: out[key] for key in extracted if key != "count"} == {
        key: value for key, value in extracted.items() if key != "count"
    }
    rejected_ids = {code for code, kind in catalog.invalid.items() if kind != "malformed_location"}
    assert out["rejected_count"] == len(rejected_ids) > 0
    assert out["count"] + out["rejected_count"] == extracted["count"] == 400

    lines = [line for key in out["canonical_pages"] for line in platform.aws.ndjson(key)]
    assert len(lines) == out["count"]
    assert all(set(line) == {"id", "canonical", "product", "position"} for line in lines)
    canonical = [line["canonical"] for line in lines]
    assert {record["id"] for record in canonical}.isdisjoint(rejected_ids)
    assert all(
        set(record) >= {"id", "name", "stock_quantity", "external_id"} for record in canonical
    )
    # product-ready: the loader sends `product` as the mapping's to_product made it
    assert all(line["product"]["product_id"] == line["id"] for line in lines)
    assert all(line["position"].startswith(extracted["extracted_pages"][0][:-10]) for line in lines)

    rejects = platform.aws.ndjson(out["rejected_key"])
    assert {line["id"] for line in rejects} == rejected_ids
    assert all(line["stage"] == "mapping" and line["reason"] and line["record"] for line in rejects)
    by_kind = {catalog.invalid[line["id"]]: line for line in rejects}
    assert "stock_quantity" in by_kind["negative_quantity"]["reason"]
    assert "name" in by_kind["missing_name"]["reason"]
    assert "ean" in by_kind["bad_ean_check_digit"]["reason"]

    summary = out["validation_errors"]
    report = platform.aws.ndjson(summary["report_key"])
    assert summary["report_key"] == f"runs/cliente-t/{out['run_id']}/validation-report.ndjson"
    errors = [line for line in report if line["severity"] == "error"]
    assert summary["count"] == len(errors) and summary["warnings"] == len(report) - len(errors)
    assert sum(summary["by_field"].values()) == summary["count"]
    for line in errors:
        assert set(line) >= {
            "record_id",
            "field",
            "line",
            "value",
            "reason",
            "severity",
            "position",
        }
        assert isinstance(line["line"], int) and line["line"] > 0  # the .map line
    negative = next(
        line for line in errors if line["record_id"] == by_kind["negative_quantity"]["id"]
    )
    assert negative["field"] == "stock_quantity"

    run = RunHistory().get("cliente-t", out["run_id"])
    assert run is not None and (run["canonical_count"], run["rejected_count"]) == (
        out["count"],
        out["rejected_count"],
    )


def test_a_tampered_mapping_is_refused_and_the_run_fails(platform: Any) -> None:
    _, extracted = _extracted(platform, "cliente-m", 10)
    platform.aws.s3.put_object(
        Bucket=platform.aws.bucket, Key="mappings/kong.py", Body=b"raise SystemExit('pwned')\n"
    )
    mapping_loader.clear_cache()
    with pytest.raises(BundleIntegrityError, match="refused"):
        transformer(extracted, None)
    run = RunHistory().get("cliente-m", extracted["run_id"])
    assert run is not None and run["status"] == "failed" and "BundleIntegrityError" in run["error"]


def test_a_mapping_that_raises_rejects_the_record_not_the_run(
    aws: Any, kong_mapping_source: str
) -> None:
    source = kong_mapping_source.replace(
        "def to_canonical(record):\n",
        "def to_canonical(record):\n    if record.get('f_codigo') == 'BOOM':\n        raise ZeroDivisionError('bad luck')\n",
    )
    aws.put_bundle({"kong": source})
    aws.put_client()
    run_id = "20250115T100000Z-3f9a1c"
    page = f"runs/cliente-a/{run_id}/extracted/page-00001.ndjson"
    lines = [
        {"f_codigo": "OK1", "f_nombre": "A", "f_cantidad": 1},
        {"f_codigo": "BOOM", "f_nombre": "B", "f_cantidad": 2},
    ]
    aws.s3.put_object(
        Bucket=aws.bucket, Key=page, Body="\n".join(json.dumps(line) for line in lines).encode()
    )
    RunHistory().start("cliente-a", run_id, sync_type="initial", started_at="2025-01-15T10:00:00Z")
    event = json.loads((EVENTS / "transformer_input.json").read_text())
    event["extracted_pages"] = [page]

    out = transformer(event, None)
    assert (out["count"], out["rejected_count"]) == (1, 1)
    (reject,) = aws.ndjson(out["rejected_key"])
    assert reject["id"] == "BOOM" and "ZeroDivisionError: bad luck" in reject["reason"]
    assert out["validation_errors"]["by_field"] == {"record": 1}


def test_the_event_fixture_runs_against_stored_pages(aws: Any, kong_mapping_source: str) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    aws.put_client()
    event = json.loads((EVENTS / "transformer_input.json").read_text())
    RunHistory().start(
        "cliente-a", event["run_id"], sync_type="incremental", started_at="2025-01-15T10:00:00Z"
    )
    for number, key in enumerate(event["extracted_pages"]):
        records = [
            {"f_codigo": f"P{number}{n}", "f_nombre": "X", "f_cantidad": n, "f_ean": "12"}
            for n in range(3)
        ]
        aws.s3.put_object(
            Bucket=aws.bucket, Key=key, Body="\n".join(json.dumps(r) for r in records).encode()
        )
    out = transformer(event, None)
    assert out["count"] == 6 and out["rejected_count"] == 0
    assert out["validation_errors"] == {
        "count": 0,
        "warnings": 6,
        "skipped": 0,
        "by_field": {},
        "report_key": f"runs/cliente-a/{event['run_id']}/validation-report.ndjson",
    }
    assert out["canonical_pages"] == [
        f"runs/cliente-a/{event['run_id']}/canonical/page-00001.ndjson"
    ]


def test_pages_of_another_run_are_refused(aws: Any) -> None:
    event = json.loads((EVENTS / "transformer_input.json").read_text())
    event["extracted_pages"] = [
        "runs/cliente-b/20250115T100000Z-3f9a1c/extracted/page-00001.ndjson"
    ]
    with pytest.raises(InvalidEvent, match="not under runs/cliente-a/"):
        transformer(event, None)


def test_an_event_for_another_product_is_refused(aws: Any, kong_mapping_source: str) -> None:
    aws.put_bundle({"kong": kong_mapping_source})
    aws.put_client()
    event = json.loads((EVENTS / "transformer_input.json").read_text())
    RunHistory().start("cliente-a", event["run_id"], sync_type="incremental", started_at="t")
    event["product_type"] = "wms"
    with pytest.raises(InvalidEvent, match="product_type 'wms'"):
        transformer(event, None)


@pytest.mark.parametrize("missing", ["run_id", "watermark", "extracted_pages", "bucket"])
def test_a_malformed_event_names_the_field(aws: Any, missing: str) -> None:
    event = json.loads((EVENTS / "transformer_input.json").read_text())
    del event[missing]
    with pytest.raises(InvalidEvent, match=f"field '{missing}'"):
        transformer(event, None)


def test_a_to_product_that_raises_rejects_the_record_in_the_transformer(
    aws: Any, kong_mapping_source: str
) -> None:
    """to_product runs in the transformer now: its failure is a mapping reject with the raw record."""
    source = kong_mapping_source.replace(
        "def to_product(canonical):\n",
        "def to_product(canonical):\n    if canonical['id'] == 'BAD':\n        raise ValueError('cannot shape')\n",
    )
    aws.put_bundle({"kong": source})
    aws.put_client()
    event = json.loads((EVENTS / "transformer_input.json").read_text())
    page = event["extracted_pages"][0]
    event["extracted_pages"] = [page]
    records = [{"f_codigo": code, "f_nombre": "n", "f_cantidad": "1"} for code in ("A", "BAD")]
    aws.s3.put_object(
        Bucket=aws.bucket, Key=page, Body="\n".join(map(json.dumps, records)).encode()
    )
    RunHistory().start("cliente-a", event["run_id"], sync_type="incremental", started_at="t")

    out = transformer(event, None)

    assert (out["count"], out["rejected_count"]) == (1, 1)
    (reject,) = aws.ndjson(out["rejected_key"])
    assert (reject["id"], reject["stage"], reject["retryable"]) == ("BAD", "mapping", False)
    assert "to_product" in reject["reason"] and "cannot shape" in reject["reason"]
    assert reject["record"] == records[1] and reject["position"] == f"{page}#2"
