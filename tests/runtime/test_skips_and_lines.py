"""Skipped records and one-to-many records through the three handlers, into the Kong simulator.

The mapping is the compiled kong.map with the version 2 shapes of
tests/runtime/v2_shapes.py (a TEST FIXTURE standing in for `skip when` and
`each` until the compiler generates them): inactive items are skipped, an
item with warehouse lines becomes one product per line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from moto_platform import upload_bundle
from v2_shapes import shaped_bundle

from local.sim import generate_catalog
from local.sim.keys import DEFAULT_TENANT
from runtime.handlers.extractor import lambda_handler as extractor
from runtime.handlers.loader import lambda_handler as loader
from runtime.handlers.transformer import lambda_handler as transformer
from runtime.sync_state import RunHistory

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def _run(
    platform: Any, compiled_bundle_dir: Path, tmp_path: Path
) -> tuple[Any, list[str], Any, dict]:
    upload_bundle(
        platform.aws.s3, platform.aws.bucket, shaped_bundle(compiled_bundle_dir, tmp_path / "b")
    )
    catalog = generate_catalog(40, seed=3, client="cliente-s", invalid_share=0.0)
    codes = catalog.ids()
    catalog.modify(codes[:3], changes={"f_activo": "N"})
    catalog.modify(
        [codes[5]],
        changes={
            "f_activo": "S",
            "f_tag_rfid": None,  # one tag cannot mark three products
            "f_bodegas": [
                {"bodega": "01", "cantidad": 4},
                {"bodega": "02", "cantidad": -1},
                {"bodega": "03", "cantidad": 7},
            ],
        },
    )
    _, siesa_url = platform.siesa(catalog)
    kong, kong_url = platform.kong()
    platform.client("cliente-s", product_type="kong", siesa_url=siesa_url, product_url=kong_url)
    transformed = transformer(
        extractor({"client_id": "cliente-s", "sync_type": "initial"}, None), None
    )
    return catalog, codes, kong, transformed


def test_skipped_records_are_counted_not_failed_and_lines_are_loaded_one_by_one(
    platform: Any, compiled_bundle_dir: Path, tmp_path: Path
) -> None:
    catalog, codes, kong, transformed = _run(platform, compiled_bundle_dir, tmp_path)
    inactive = {code for code in codes if catalog.get(code)["f_activo"] == "N"}
    assert set(codes[:3]) <= inactive

    assert transformed["skipped_count"] == len(inactive)
    assert transformed["validation_errors"]["skipped"] == len(inactive)
    skipped = platform.aws.ndjson(transformed["skipped_key"])
    assert {line["id"] for line in skipped} == inactive
    assert skipped[0]["reason"] == 'skip when f_activo == "N"' and skipped[0]["file"] == "kong.map"

    (rejected,) = platform.aws.ndjson(transformed["rejected_key"])
    line_id = f"{codes[5]}-02"
    assert rejected["id"] == line_id and rejected["part"] == 2
    assert rejected["reason"].startswith(f"line 2 ({line_id}): stock_quantity: ")
    assert rejected["record"]["f_bodegas"][1] == {"bodega": "02", "cantidad": -1}

    summary = loader({k: v for k, v in transformed.items() if not k.startswith("_")}, None)
    assert summary["records_skipped"] == len(inactive)
    assert summary["records_failed"] == 1
    assert [(f["id"], f["stage"]) for f in summary["failed_records"]] == [(line_id, "mapping")]
    stored = kong.products(DEFAULT_TENANT)
    assert stored[f"{codes[5]}-01"]["quantity"] == 4 and stored[f"{codes[5]}-03"]["quantity"] == 7
    assert codes[5] not in stored and not inactive & set(stored)
    assert summary["records_success"] == len(stored) == len(codes) - len(inactive) - 1 + 2
    run = RunHistory().get("cliente-s", transformed["run_id"])
    assert run is not None
    assert run["skipped_count"] == run["records_skipped"] == len(inactive)
