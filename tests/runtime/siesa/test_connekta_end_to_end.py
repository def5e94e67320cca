"""Connekta clients end to end: extractor, transformer and loader Lambdas against the simulators.

Siesa is a `ConnektaSim` tenant with two companies whose item ids overlap;
the products are the Kong and WMS simulators; AWS is moto. The checks are
the REST dialect's (counts, run-store pages, watermarks, dedup, refusals)
plus a reconciliation of what reached the product against the catalog.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import pytest

from local.sim.catalog import INVALID_KINDS, Catalog, generate_catalog
from local.sim.connekta import ConnektaSim
from local.sim.connekta_rows import item_number
from local.sim.keys import DEFAULT_TENANT
from runtime.config_store import ConfigStore, to_item
from runtime.errors import InvalidClientConfig, SiesaAuthError
from runtime.handlers.extractor import lambda_handler as extractor
from runtime.handlers.loader import lambda_handler as loader
from runtime.handlers.transformer import lambda_handler as transformer
from runtime.sync_state import RunHistory

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

KONG_REJECTS = set(INVALID_KINDS) - {"malformed_location"}
"""Invalid kinds Kong's mapping rejects (it does not map the location)."""


def _tenant(
    platform: Any, size: int, seed: int, **options: Any
) -> tuple[ConnektaSim, str, Catalog]:
    """A tenant whose company 1 has `size` items (5% invalid) and company 2 half as many."""
    ours = generate_catalog(size, seed=seed, invalid_share=0.05, client="cia-1")
    other = generate_catalog(size // 2, seed=seed + 1, client="cia-2")
    sim, url = platform.connekta({1: ours, 2: other}, **options)
    return sim, url, ours


def _records(platform: Any, keys: list[str]) -> list[dict[str, Any]]:
    return [record for key in keys for record in platform.ndjson(key)]


def _expected_ids(catalog: Catalog, rejected_kinds: set[str]) -> tuple[set[str], set[str]]:
    """(ids that must reach the product, ids the mapping must reject), as Connekta ids."""
    invalid = {code for code, kind in catalog.invalid.items() if kind in rejected_kinds}
    every = {str(item_number(code)) for code in catalog.ids()}
    rejected = {str(item_number(code)) for code in invalid}
    return every - rejected, rejected


def _run(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    extracted = extractor(event, None)
    transformed = transformer(extracted, None)
    return extracted, transformed, loader(transformed, None)


def test_an_initial_kong_sync_reconciles_with_the_catalog(connekta_platform: Any) -> None:
    sim, siesa_url, catalog = _tenant(connekta_platform, 1200, seed=11)
    kong, kong_url = connekta_platform.kong()
    connekta_platform.client(
        "cliente-k", product_type="kong", siesa_url=siesa_url, product_url=kong_url
    )

    extracted, transformed, summary = _run({"client_id": "cliente-k", "sync_type": "initial"})

    # extraction: two pages of 1000 (overlapping), then "No se encontraron registros"
    assert [entry.status for entry in sim.log.entries()] == [200, 200, 400]
    queries = [parse_qs(entry.query) for entry in sim.log.entries()]
    assert {q["parametros"][0] for q in queries} == {"f120_id_cia = 1"}
    assert extracted["count"] == 1200
    stored = _records(connekta_platform, extracted["extracted_pages"])
    assert sorted(row["f120_id"] for row in stored) == sorted(row["f120_id"] for row in sim.rows(1))
    run = RunHistory().get("cliente-k", extracted["run_id"])
    assert run is not None and run["duplicates_dropped"] == 2  # the simulator's page overlap

    # reconciliation: every valid item is in Kong with the catalog's values; every invalid one is reported
    loaded, rejected = _expected_ids(catalog, KONG_REJECTS)
    products = kong.products(DEFAULT_TENANT)
    assert set(products) == loaded
    assert (summary["status"], summary["records_processed"]) == ("partial", 1200)
    assert (summary["records_success"], summary["records_failed"]) == (len(loaded), len(rejected))
    failed = connekta_platform.ndjson(summary["failed_records_key"])
    assert {line["id"] for line in failed} == rejected
    assert all(line["stage"] == "mapping" and line["reason"] for line in failed)
    for code in catalog.ids()[:200]:
        record = catalog.get(code)
        product = products.get(str(item_number(code)))
        if record is None or product is None:
            continue
        assert product["name"] == record["f_nombre"].strip()
        assert product["external_reference"] == record["f_referencia"].strip()
        assert product["quantity"] == int(float(str(record["f_cantidad"])))
    assert transformed["rejected_count"] == len(rejected)
    config = ConfigStore().get("cliente-k")
    assert (config.last_sync_status, config.last_sync_watermark) == (
        "partial",
        extracted["watermark"],
    )


def test_a_wms_client_reads_company_2_of_the_same_tenant(connekta_platform: Any) -> None:
    other = generate_catalog(150, seed=21, client="cia-1")
    ours = generate_catalog(240, seed=22, invalid_share=0.05, client="cia-2")
    _, siesa_url = connekta_platform.connekta({1: other, 2: ours}, ignore_company_filter=True)
    wms, wms_url = connekta_platform.wms()
    connekta_platform.client(
        "cliente-w",
        product_type="wms",
        siesa_url=siesa_url,
        product_url=wms_url,
        connekta={"company_code": 2},
    )

    extracted, _, summary = _run({"client_id": "cliente-w", "sync_type": "initial"})

    assert extracted["count"] == 240, "company 1's rows (same ids) never reach company 2's client"
    loaded, rejected = _expected_ids(ours, set(INVALID_KINDS))
    items = wms.items(DEFAULT_TENANT)
    assert set(items) == loaded
    assert {
        line["id"] for line in connekta_platform.ndjson(summary["failed_records_key"])
    } == rejected
    for code in ours.ids():
        record = ours.get(code)
        item = items.get(str(item_number(code)))
        if record is None or item is None:
            continue
        assert item["location_code"] == record["f_ubicacion"].strip().replace("-", "")
        assert item["available_quantity"] == int(float(str(record["f_cantidad"])))


def test_an_incremental_sync_asks_for_changes_since_the_watermark_in_local_time(
    connekta_platform: Any,
) -> None:
    sim, siesa_url, catalog = _tenant(connekta_platform, 300, seed=31)
    stamp = catalog.records()[200]["f_fecha_modificacion"]
    watermark = datetime.fromisoformat(stamp + "-05:00").astimezone(
        datetime.now().astimezone().tzinfo
    )
    connekta_platform.client(
        "cliente-i",
        product_type="kong",
        siesa_url=siesa_url,
        product_url="https://x.kong.example/api/v1",
        last_sync_watermark=watermark.isoformat(),
    )
    out = extractor({"client_id": "cliente-i", "sync_type": "incremental"}, None)

    (query,) = [parse_qs(entry.query) for entry in sim.log.entries()][:1]
    assert query["parametros"] == [f"f120_ts >= '{stamp}' AND f120_id_cia = 1"]
    expected = {
        row["f120_id"] for row in sim.rows(1) if row["f120_ts"][:19] >= stamp.replace(" ", "T")
    }
    stored = _records(connekta_platform, out["extracted_pages"])
    assert {row["f120_id"] for row in stored} == expected and 0 < len(expected) < 300


def test_the_second_run_starts_from_the_first_runs_watermark(connekta_platform: Any) -> None:
    sim, siesa_url, _ = _tenant(connekta_platform, 40, seed=41)
    _, kong_url = connekta_platform.kong()
    connekta_platform.client(
        "cliente-s", product_type="kong", siesa_url=siesa_url, product_url=kong_url
    )
    first, _, _ = _run({"client_id": "cliente-s", "sync_type": "incremental"})
    sim.log.clear()
    again, _, summary = _run({"client_id": "cliente-s", "sync_type": "incremental"})

    local = datetime.fromisoformat(first["watermark"]).strftime("%Y-%m-%d %H:%M:%S")
    assert [parse_qs(e.query)["parametros"] for e in sim.log.entries()] == [
        [f"f120_ts >= '{local}' AND f120_id_cia = 1"]
    ]
    assert again["count"] == 0 and (summary["status"], summary["records_processed"]) == (
        "success",
        0,
    )


def test_a_row_changed_while_paging_keeps_only_its_newest_copy(connekta_platform: Any) -> None:
    sim, siesa_url, _ = _tenant(connekta_platform, 1100, seed=51, page_overlap=0)
    sim.faults.set(move_record_after_page=1)
    connekta_platform.client(
        "cliente-d",
        product_type="kong",
        siesa_url=siesa_url,
        product_url="https://x.kong.example/api/v1",
    )
    out = extractor({"client_id": "cliente-d", "sync_type": "initial"}, None)

    (event,) = sim.faults.snapshot()["events"]
    stored = _records(connekta_platform, out["extracted_pages"])
    ids = [row["f120_id"] for row in stored]
    assert len(ids) == len(set(ids)) == 1100 == out["count"]
    (moved,) = [row for row in stored if row["f120_id"] == event["id"]]
    assert moved["f120_ts"].startswith(event["f_fecha_modificacion"].replace(" ", "T"))
    # the change shifted a row onto page 1, already read: a second pass caught it, and
    # every row of that pass is a duplicate (1100 - 1), with the moved row's old copy (1)
    assert RunHistory().get("cliente-d", out["run_id"])["duplicates_dropped"] == 1100  # type: ignore[index]
    assert [entry.status for entry in sim.log.entries()] == [200, 200, 400, 200, 200, 400]


def test_a_wrong_key_pair_fails_the_run_with_a_clear_error_and_no_secret(
    connekta_platform: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, siesa_url, _ = _tenant(connekta_platform, 10, seed=61)
    key, token = "ck-e2e-canary-8d1f", "tok-e2e-canary-77aa"
    connekta_platform.client(
        "cliente-r",
        product_type="kong",
        siesa_url=siesa_url,
        product_url="https://x.kong.example/api/v1",
        conni_key=key,
        conni_token=token,
    )
    with pytest.raises(
        SiesaAuthError, match="ConniKey/ConniToken pair was refused for query INTEGRACION_ITEMS"
    ) as caught:
        extractor({"client_id": "cliente-r", "sync_type": "initial"}, None)
    assert key not in str(caught.value) and token not in str(caught.value)
    (run,) = RunHistory().list("cliente-r")
    assert run["status"] == "failed" and "SiesaAuthError" in run["error"]
    assert key not in json.dumps(run, default=str) and token not in json.dumps(run, default=str)
    assert ConfigStore().get("cliente-r").last_sync_status == "failed"
    assert [entry.status for entry in sim.log.entries()] == [401]
    logged = capsys.readouterr()
    assert "ConniKey/ConniToken pair was refused" in logged.out + logged.err
    assert key not in logged.out + logged.err and token not in logged.out + logged.err


def test_a_crafted_watermark_never_reaches_the_erp(connekta_platform: Any) -> None:
    sim, siesa_url, _ = _tenant(connekta_platform, 10, seed=71)
    connekta_platform.client(
        "cliente-x",
        product_type="kong",
        siesa_url=siesa_url,
        product_url="https://x.kong.example/api/v1",
        last_sync_watermark="2025-01-15T10:00:00-05:00' OR '1'='1",
    )
    with pytest.raises(ValueError):
        extractor({"client_id": "cliente-x", "sync_type": "incremental"}, None)
    assert sim.log.entries() == []
    (run,) = RunHistory().list("cliente-x")
    assert run["status"] == "failed"


@pytest.mark.parametrize(
    ("connekta", "says"),
    [
        (
            {"query": "INTEGRACION_ITEMS", "id_compania": 5001, "company_code": "1 OR 1=1"},
            "connekta.company_code",
        ),
        (
            {
                "query": "INTEGRACION_ITEMS",
                "id_compania": 5001,
                "company_code": 1,
                "timestamp_column": "f120_ts >= '' OR 1=1 --",
            },
            "connekta.timestamp_column",
        ),
        ({"id_compania": 5001, "company_code": 1}, "connekta.query"),
    ],
)
def test_a_crafted_config_item_is_refused_before_any_request(
    connekta_platform: Any, connekta: dict[str, Any], says: str
) -> None:
    sim, siesa_url, _ = _tenant(connekta_platform, 10, seed=81)
    connekta_platform.client(
        "cliente-y",
        product_type="kong",
        siesa_url=siesa_url,
        product_url="https://x.kong.example/api/v1",
    )
    item = ConfigStore().get("cliente-y").model_dump()
    item["connekta"] = connekta  # written around the store's validation, as a hand edit would be
    connekta_platform.dynamodb.put_item(TableName=ConfigStore().table_name, Item=to_item(item))
    with pytest.raises(InvalidClientConfig, match=says):
        extractor({"client_id": "cliente-y", "sync_type": "incremental"}, None)
    assert sim.log.entries() == []
