"""`siesa demo`'s own code path, with smaller catalogs: four clients, initial and incremental syncs."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from runtime.local.demo import run_demo
from runtime.local.demo_world import DEMO_CLIENTS

PRODUCTS = 200
CHANGES = 5
REFUSALS = 3


def test_the_demo_syncs_four_clients_and_every_product_matches_its_mapping(
    tmp_path: Path,
) -> None:
    screen = io.StringIO()
    result = run_demo(
        PRODUCTS,
        changes=CHANGES,
        refusals=REFUSALS,
        console=Console(file=screen, width=160),
        log_dir=tmp_path,
    )
    printed = screen.getvalue()
    assert result.problems == [], printed
    assert result.exit_code == 0
    assert set(result.initial) == {spec.client_id for spec in DEMO_CLIENTS}

    for client_id, report in result.initial.items():
        summary = report.summary
        assert report.extracted == PRODUCTS
        assert summary["records_processed"] == PRODUCTS
        # every record is accounted for: loaded, rejected by the mapping, or refused by the product
        assert report.loaded + report.rejected + len(report.product_failures) == PRODUCTS
        assert report.rejected > 0 and report.mapping_reasons, client_id
        assert sorted(report.product_failures) == sorted(report.world.planted_refusals)
        assert len(report.product_failures) == REFUSALS
        assert (summary["status"], report.outcome.exit_code) == ("partial", 3)

    for client_id, report in result.incremental.items():
        assert report.extracted == CHANGES + 1, client_id  # the moved records and one fixed
        assert report.outcome.status == "success"

    cliente_d = result.initial["cliente-d"].world
    assert set(cliente_d.service_endpoints) == {"inventory", "warehouse"}
    services = {entry.service for entry in cliente_d.product.log.entries()}
    assert services == {"inventory", "warehouse"}

    assert printed.count("match") >= len(DEMO_CLIENTS)
    for phrase in ("Initial syncs", "Why the mapping rejected records", "only what changed moves"):
        assert phrase in printed

    assert result.log_path is not None
    handler_log = result.log_path.read_text(encoding="utf-8")
    assert '"component":"loader"' in handler_log
    for report in result.initial.values():
        for secret in (report.world.siesa_key, report.world.product_key):
            assert secret not in handler_log
            assert secret not in printed
