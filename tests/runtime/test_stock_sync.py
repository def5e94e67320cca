"""Stock-only syncs through the three handlers, against the Siesa and Kong simulators.

After a full sync, the ERP's stock changes for a few items only (their
modification time stays, so an incremental sync would not see them). A
`sync_type: stock` run reads GET /inventory/stock and sends, for exactly the
records whose quantity changed, the whole product record the full sync sent
with the new quantity; the watermark stays where the full sync left it.
"""

from __future__ import annotations

from typing import Any

import pytest
from compiled_maps import add_to_bundle, compile_test_map

from local.sim import generate_catalog
from local.sim.keys import DEFAULT_TENANT
from local.sim.vocabulary import WAREHOUSES
from runtime import settings
from runtime.config_store import ConfigStore
from runtime.handlers.deps import Deps
from runtime.handlers.events import ExtractRequest, Skipped
from runtime.handlers.extract_run import extract
from runtime.handlers.extractor import lambda_handler as extractor
from runtime.handlers.loader import lambda_handler as loader
from runtime.handlers.transformer import lambda_handler as transformer
from runtime.run_lease import RunLease
from runtime.sync_state import RunHistory

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:siesa-integration-workflow:{}"


def run(client_id: str, sync_type: str) -> dict[str, Any]:
    """One run through extractor, transformer and loader; the loader summary."""
    extracted = extractor({"client_id": client_id, "sync_type": sync_type}, None)
    transformed = transformer(extracted, None)
    return loader({k: v for k, v in transformed.items() if not k.startswith("_")}, None)


def product_writes(kong: Any) -> int:
    """Requests that wrote products to the Kong simulator."""
    return sum(
        1
        for entry in kong.log.entries("kong")
        if entry.method in ("POST", "PUT") and "/products" in entry.path
    )


def test_stock_sync_sends_only_changed_records_whole_and_leaves_the_watermark(
    platform: Any,
) -> None:
    catalog = generate_catalog(30, seed=5, client="cliente-k", invalid_share=0.0)
    _, siesa_url = platform.siesa(catalog)
    kong, kong_url = platform.kong()
    values = {"product_type": "kong", "siesa_url": siesa_url, "product_url": kong_url}
    platform.client("cliente-k", **values, stock={"warehouse": WAREHOUSES[0]})
    assert run("cliente-k", "initial")["status"] == "success"
    before = kong.products(DEFAULT_TENANT)
    watermark = ConfigStore().get("cliente-k").last_sync_watermark
    writes = product_writes(kong)

    changed = catalog.change_stock(catalog.ids()[:3], by=7)
    summary = run("cliente-k", "stock")

    assert summary["sync_type"] == "stock" and summary["status"] == "success"
    assert summary["records_processed"] == summary["records_success"] == 3
    after = kong.products(DEFAULT_TENANT)
    for code, quantity in changed.items():
        assert after[code] == {**before[code], "quantity": int(float(quantity))}
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }
    assert product_writes(kong) == writes + 1  # one batch of the three records
    assert ConfigStore().get("cliente-k").last_sync_watermark == watermark
    stock_run = RunHistory().get("cliente-k", summary["run_id"])
    assert stock_run is not None and stock_run["sync_type"] == "stock"
    full = RunHistory().latest("cliente-k", ("initial", "incremental"))
    assert full is not None and full["sync_type"] == "initial"

    # the store now holds the quantities sent: nothing changed, nothing sent
    assert run("cliente-k", "stock")["records_processed"] == 0

    # the sum of every warehouse: the items with stock in a second warehouse change
    platform.client("cliente-k", **values)  # no stock block: the default, "sum"
    summed = run("cliente-k", "stock")
    extra = {
        code: int(float(catalog.get(code)["f_cantidad"])) + row["f_cantidad"]
        for code, rows in catalog._extra_stock.items()
        for row in rows
    }
    assert extra and summed["records_processed"] == len(extra)
    assert {code: kong.products(DEFAULT_TENANT)[code]["quantity"] for code in extra} == extra


def test_stock_sync_of_a_one_to_many_mapping_gives_each_line_its_warehouse_row(
    platform: Any,
) -> None:
    mapping = add_to_bundle(
        platform.aws.s3,
        platform.aws.bucket,
        compile_test_map("kong-lines"),
        settings.mappings_prefix(),
    )
    catalog = generate_catalog(20, seed=3, client="cliente-l", invalid_share=0.0, stock_lines=True)
    active = [code for code in catalog.ids() if catalog.get(code)["f_activo"] != "N"]
    two = [code for code in active if len(catalog.get(code)["f_existencias"]) == 2]
    _, siesa_url = platform.siesa(catalog)
    kong, kong_url = platform.kong()
    platform.client(
        "cliente-l",
        product_type="kong",
        siesa_url=siesa_url,
        product_url=kong_url,
        field_mappings_key=mapping,
    )
    assert run("cliente-l", "initial")["records_failed"] == 0
    before = kong.products(DEFAULT_TENANT)

    second = catalog.change_stock([two[0]], warehouse=WAREHOUSES[1], by=5)
    first = catalog.change_stock([two[1]], by=3)
    summary = run("cliente-l", "stock")

    assert summary["records_processed"] == 2
    after = kong.products(DEFAULT_TENANT)
    line = f"{two[0]}-{WAREHOUSES[1]}"
    assert after[line] == {**before[line], "quantity": second[two[0]]}
    line = f"{two[1]}-{WAREHOUSES[0]}"
    assert after[line] == {**before[line], "quantity": int(float(first[two[1]]))}
    assert {k for k in after if after[k] != before[k]} == {
        f"{two[0]}-{WAREHOUSES[1]}",
        f"{two[1]}-{WAREHOUSES[0]}",
    }


def test_a_stock_sync_waits_for_the_clients_running_run(platform: Any) -> None:
    """One run per client at a time covers every sync type: the lease is the client's."""
    platform.aws.put_client(client_id="cliente-m")
    lease = RunLease(ConfigStore().table_name, dynamodb=ConfigStore().dynamodb)
    lease.acquire("cliente-m", EXECUTION.format("full"), "20250101T000000Z-abcdef", lambda _: None)

    request = ExtractRequest(
        client_id="cliente-m",
        sync_type="stock",
        lease={"execution_arn": EXECUTION.format("stock")},
    )
    outcome = extract(request, Deps(execution_status=lambda _: "RUNNING"))

    assert isinstance(outcome, Skipped)
    assert outcome.sync_type == "stock"
    assert outcome.skipped.running_run_id == "20250101T000000Z-abcdef"
