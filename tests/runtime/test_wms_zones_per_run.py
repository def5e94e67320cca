"""WMS zones are listed once per run, not once per page: the run's cache (runtime/adapters/run_cache.py).

A run loaded page by page opens one adapter per page (the Map state's
loader invocations); the first to need the zones lists them at the WMS
simulator (real loopback HTTP) and keeps them under the run's prefix, the
others read them there. AWS is moto.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.sim import generate_catalog
from local.sim.keys import DEFAULT_TENANT
from runtime import settings
from runtime.adapters.wms import ZONES_CACHE_NAME, check_zones
from runtime.errors import RunDataError
from runtime.handlers.extractor import lambda_handler as extractor
from runtime.handlers.loader import lambda_handler as loader
from runtime.handlers.run_cache import StoredRunCache
from runtime.handlers.transformer import lambda_handler as transformer
from runtime.runstore import RunStore

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

CLIENT = "cliente-z"
RECORDS, PAGE_SIZE = 120, 40  # three extracted pages


def _zone_listings(wms: Any) -> int:
    return sum(1 for entry in wms.log.entries() if entry.path.endswith("/zones"))


def _extracted(platform: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, Any]]:
    """A WMS client whose ERP holds RECORDS records, extracted into pages of PAGE_SIZE."""
    monkeypatch.setenv(settings.RUN_PAGE_SIZE_ENV, str(PAGE_SIZE))
    catalog = generate_catalog(RECORDS, seed=9, client=CLIENT, invalid_share=0.0)
    _, siesa_url = platform.siesa(catalog)
    wms, wms_url, _ = platform.wms()
    platform.client(CLIENT, product_type="wms", siesa_url=siesa_url, product_url=wms_url)
    extracted = extractor({"client_id": CLIENT, "sync_type": "initial"}, None)
    assert len(extracted["extracted_pages"]) == RECORDS // PAGE_SIZE
    return wms, extracted


def _page(extracted: dict[str, Any], key: str) -> dict[str, Any]:
    """What the Map state hands one page's transformer (infra/statemachine.asl.json)."""
    return {**extracted, "mode": "page", "extracted_pages": [], "page_key": key}


def _zoned_records(platform: Any, transformed: dict[str, Any]) -> int:
    return sum(
        1
        for key in transformed["canonical_pages"]
        for line in platform.aws.ndjson(key)
        if line["product"].get("zone_id") is not None
    )


def test_a_run_loaded_page_by_page_lists_the_zones_once(
    platform: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wms, extracted = _extracted(platform, monkeypatch)
    run_id = extracted["run_id"]
    accounts = []
    for key in extracted["extracted_pages"]:  # one after the other: the test's Map runs one
        transformed = transformer(_page(extracted, key), None)
        assert _zoned_records(platform, transformed) > 0, "every page's adapter needs the zones"
        accounts.append(loader(transformed, None))
    summary = loader({**extracted, "mode": "finish", "extracted_pages": []}, None)

    assert _zone_listings(wms) == 1  # one per page (3) before the run's cache
    assert summary["status"] == "success"
    assert summary["records_success"] == RECORDS == sum(a["records"] for a in accounts)
    assert len(wms.items(DEFAULT_TENANT)) == RECORDS
    stored = platform.aws.object_text(f"runs/{CLIENT}/{run_id}/{ZONES_CACHE_NAME}.json")
    for zone in sorted(wms.zones):
        assert f'"{zone}"' in stored
    assert check_zones(StoredRunCache(RunStore(), CLIENT, run_id).get(ZONES_CACHE_NAME)) is None


def test_a_whole_run_load_still_lists_the_zones_once_and_keeps_no_cache(
    platform: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wms, extracted = _extracted(platform, monkeypatch)
    summary = loader(transformer(extracted, None), None)

    assert summary["status"] == "success" and summary["records_success"] == RECORDS
    assert _zone_listings(wms) == 1
    assert platform.aws.keys(f"runs/{CLIENT}/{extracted['run_id']}/{ZONES_CACHE_NAME}") == []


@pytest.mark.parametrize(
    "stored",
    [
        {"zones": ["ZONE-A"]},
        {"data": [{"zone": "ZONE-A"}]},
        {"data": ["ZONE-A"]},
        [{"zone_id": "ZONE-A"}],
    ],
)
def test_a_stored_zone_list_of_the_wrong_shape_is_refused(
    platform: Any, monkeypatch: pytest.MonkeyPatch, stored: Any
) -> None:
    wms, extracted = _extracted(platform, monkeypatch)
    run_id = extracted["run_id"]
    StoredRunCache(RunStore(), CLIENT, run_id).put(ZONES_CACHE_NAME, stored)
    transformed = transformer(_page(extracted, extracted["extracted_pages"][0]), None)

    with pytest.raises(RunDataError, match="stored wms-zones is refused"):
        loader(transformed, None)
    assert wms.items(DEFAULT_TENANT)  # items went to the inventory service before the zones
    assert _zone_listings(wms) == 0  # the bad copy was not silently replaced by a listing
    # the part's report names every record it did not load (none placed in a zone)
    report = platform.aws.ndjson(f"runs/{CLIENT}/{run_id}/parts/00001/failed-records.ndjson")
    assert report and all("wms-zones" in line["reason"] for line in report)


@pytest.mark.parametrize("name", ["../x", "wms/zones", "WMS", "", "wms-", "a.json"])
def test_a_cache_name_stays_one_key_under_the_runs_prefix(aws: Any, name: str) -> None:
    cache = StoredRunCache(RunStore(aws.bucket, s3=aws.s3), CLIENT, "20250115T100000Z-3f9a1c")
    with pytest.raises(ValueError, match="run cache name"):
        cache.key(name)
    assert cache.key("wms-zones") == f"runs/{CLIENT}/20250115T100000Z-3f9a1c/wms-zones.json"
