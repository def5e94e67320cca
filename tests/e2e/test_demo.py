"""`siesa demo` as `make demo` runs it: six clients, initial, incremental and stock syncs, checked.

The demo runs once, at its default size, and that one run is both checked
here in detail and compared with its pinned output (golden/demo.txt, masked
by `pinned.normalise`): what an operator sees must not change unless it is
meant to (SIESA_UPDATE_GOLDEN=1 records it anew).
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from pinned import check_golden, normalise

from local.demo import (
    DEFAULT_CHANGES,
    DEFAULT_PRODUCTS,
    DEFAULT_REFUSALS,
    PIPE_WIDTH,
    demo_console,
    run_demo,
)
from local.demo_world import DEMO_CLIENTS
from local.sim.connekta import CUSTOM_PATH, ConnektaSim

PRODUCTS = DEFAULT_PRODUCTS  # over one Connekta page (1,000 rows): its pages overlap
CHANGES = DEFAULT_CHANGES
REFUSALS = DEFAULT_REFUSALS


def test_the_demo_syncs_six_clients_and_every_product_matches_its_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    screen = io.StringIO()  # as `siesa demo | tee` sees it: not a terminal
    result = run_demo(
        PRODUCTS,
        changes=CHANGES,
        refusals=REFUSALS,
        console=demo_console(screen),
        log_dir=tmp_path,
    )
    printed = screen.getvalue()
    assert result.problems == [], printed
    check_golden("demo.txt", normalise(printed))
    assert result.exit_code == 0
    assert set(result.initial) == {spec.client_id for spec in DEMO_CLIENTS}
    assert set(result.initial) == {
        "cliente-a",
        "cliente-b",
        "cliente-c",
        "cliente-d",
        "cliente-f",
        "cliente-g",
    }

    for client_id, report in result.initial.items():
        if report.world.spec.stock_lines:
            continue  # one product record per warehouse line: checked below
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

    # the sixth client's version 2 mapping: one WMS item per warehouse, inactive items skipped
    lines = result.initial["cliente-g"]
    assert lines.extracted == PRODUCTS  # ERP records; the loader counts product records
    assert lines.summary["records_processed"] > PRODUCTS - lines.skipped - lines.rejected
    assert lines.skipped > 0 and lines.rejected > 0
    held = lines.world.held()
    per_warehouse = {record_id.rsplit("-", 2)[0] for record_id in held}
    assert len(held) > len(per_warehouse)  # some items are held once per warehouse
    assert {record_id.rsplit("-", 1)[-1] for record_id in held} == {"01", "02"}
    assert sorted(lines.product_failures) == sorted(lines.world.planted_refusals)
    assert lines.outcome.status == "partial"

    cliente_d = result.initial["cliente-d"].world
    assert set(cliente_d.service_endpoints) == {"inventory", "warehouse"}
    services = {entry.service for entry in cliente_d.product.log.entries()}
    assert services == {"inventory", "warehouse"}

    # the fifth client reads its ERP through Connekta: company 1 of a two-company tenant
    connekta = result.initial["cliente-f"]
    assert (
        isinstance(connekta.world.siesa, ConnektaSim)
        and not result.initial["cliente-a"].world.connekta
    )
    queries = [
        parse_qs(entry.query)
        for entry in connekta.world.siesa.log.entries()
        if entry.path == CUSTOM_PATH
    ]
    assert queries and all(q["descripcion"] == ["INTEGRACION_ITEMS"] for q in queries)
    assert all("f120_id_cia = 1" in q["parametros"][0] for q in queries)
    held = connekta.world.held()
    assert held and all(record_id.isdigit() for record_id in held)  # f120_id, not PROD...
    assert all(record_id.isdigit() for record_id in connekta.world.planted_refusals)
    assert connekta.duplicates_dropped > 0  # the query's pages overlap; one copy kept
    assert result.initial["cliente-a"].duplicates_dropped == 0

    # one stock-only sync: the six WMS items whose warehouse's stock rose, nothing else
    stock = result.stock["cliente-g"]
    assert (stock.outcome.status, stock.summary["sync_type"]) == ("success", "stock")
    assert stock.summary["records_processed"] == stock.loaded == 6
    assert "Watermark unchanged" in printed and "last stock sync success" in printed

    assert printed.count("match") >= len(DEMO_CLIENTS)
    for phrase in (
        "Initial syncs",
        "Why the mapping rejected records",
        "only what changed moves",
        "Connekta",
    ):
        assert phrase in printed
    # piped output is PIPE_WIDTH wide: every header and value whole, on one line
    assert "…" not in printed
    for header in (
        "Siesa API",
        "extracted",
        "changed in ERP",
        "product records changed",
        "others untouched",
        "as the mapping says",
        "refused + reported",
        "rejected + absent",
    ):
        assert header in printed, header
    table_lines = [line for line in printed.splitlines() if line.startswith(("┃", "│", "┏"))]
    assert table_lines and max(len(line) for line in table_lines) <= PIPE_WIDTH

    assert result.log_path is not None
    handler_log = result.log_path.read_text(encoding="utf-8")
    assert '"component":"loader"' in handler_log
    for report in result.initial.values():
        assert report.world.secret_values
        for secret in report.world.secret_values:
            assert secret not in handler_log
            assert secret not in printed
    assert connekta.world.siesa_token in connekta.world.secret_values


def test_a_piped_demo_keeps_a_wider_columns_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert demo_console(io.StringIO()).width == 200
    monkeypatch.setenv("COLUMNS", "60")
    assert demo_console(io.StringIO()).width == PIPE_WIDTH
