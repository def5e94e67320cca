"""Skipped records and one-to-many records through the three handlers, into the Kong simulator.

The mapping is tests/runtime/maps/kong-lines.map, compiled by the real
compiler and added to the uploaded bundle: `skip when f_activo == "N"`, and
`each line in f_existencias` (the ERP serves every item's stock per
warehouse), so every active item becomes one Kong product per warehouse line,
id `{f_codigo}-{f_bodega}`, each line validated on its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from compiled_maps import add_to_bundle, compile_test_map

from local.sim import generate_catalog
from local.sim.keys import DEFAULT_TENANT
from runtime import settings
from runtime.handlers.extractor import lambda_handler as extractor
from runtime.handlers.loader import lambda_handler as loader
from runtime.handlers.transformer import lambda_handler as transformer
from runtime.sync_state import RunHistory

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def test_skipped_records_are_counted_not_failed_and_lines_are_loaded_one_by_one(
    platform: Any,
) -> None:
    mapping = add_to_bundle(
        platform.aws.s3,
        platform.aws.bucket,
        compile_test_map("kong-lines"),
        settings.mappings_prefix(),
    )
    catalog = generate_catalog(40, seed=3, client="cliente-s", invalid_share=0.0, stock_lines=True)
    codes = catalog.ids()
    catalog.modify(codes[:3], changes={"f_activo": "N"})
    two_lines = [
        code
        for code in codes[3:]
        if len(catalog.get(code)["f_existencias"]) == 2 and catalog.get(code)["f_activo"] != "N"
    ]
    broken = two_lines[0]
    catalog.modify([broken], changes={"f_cantidad": -1})  # its first warehouse line goes negative
    _, siesa_url = platform.siesa(catalog)
    kong, kong_url = platform.kong()
    platform.client(
        "cliente-s",
        product_type="kong",
        siesa_url=siesa_url,
        product_url=kong_url,
        field_mappings_key=mapping,
    )
    transformed = transformer(
        extractor({"client_id": "cliente-s", "sync_type": "initial"}, None), None
    )
    records = catalog.records()
    inactive = {record["f_codigo"].strip() for record in records if record["f_activo"] == "N"}
    assert set(codes[:3]) <= inactive

    assert transformed["skipped_count"] == len(inactive)
    assert transformed["validation_errors"]["skipped"] == len(inactive)
    skipped = platform.aws.ndjson(transformed["skipped_key"])
    assert {line["id"] for line in skipped} == inactive
    assert skipped[0]["reason"] == 'skip when f_activo == "N"'
    assert skipped[0]["file"] == "kong-lines.map"

    (rejected,) = platform.aws.ndjson(transformed["rejected_key"])
    line_id = f"{broken}-BOD-01"
    assert rejected["id"] == line_id and rejected["part"] == 1
    assert rejected["reason"].startswith(f"line 1 ({line_id}): stock_quantity: ")
    assert rejected["record"]["f_existencias"][0]["f_cantidad"] == -1

    summary = loader({k: v for k, v in transformed.items() if not k.startswith("_")}, None)
    assert summary["records_skipped"] == len(inactive)
    assert summary["records_failed"] == 1
    assert [(f["id"], f["stage"]) for f in summary["failed_records"]] == [(line_id, "mapping")]
    stored = kong.products(DEFAULT_TENANT)
    other_line = catalog.get(broken)["f_existencias"][1]
    assert stored[f"{broken}-BOD-02"]["quantity"] == other_line["f_cantidad"]
    expected = {
        f"{record['f_codigo'].strip()}-{line['f_bodega']}"
        for record in records
        if record["f_codigo"].strip() not in inactive
        for line in record["f_existencias"]
    } - {line_id}
    assert set(stored) == expected  # no inactive item's line, no broken line
    assert summary["records_success"] == len(stored)
    run = RunHistory().get("cliente-s", transformed["run_id"])
    assert run is not None
    assert run["skipped_count"] == run["records_skipped"] == len(inactive)
