"""`siesa status` shows stock-only syncs apart from full and incremental ones."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from ops.render import status_table
from ops.status import ClientStatus, StatusReport
from runtime.config import ClientConfig

FULL = {
    "run_id": "20250101T000000Z-aaaaaa",
    "sync_type": "initial",
    "status": "success",
    "finished_at": "2025-01-01T00:05:00Z",
    "records_processed": 500,
}
STOCK = {
    "run_id": "20250101T010000Z-bbbbbb",
    "sync_type": "stock",
    "status": "partial",
    "finished_at": "2025-01-01T01:01:00Z",
    "records_processed": 12,
    "records_failed": 1,
}


def config(**values: Any) -> ClientConfig:
    return ClientConfig(
        client_id="cliente-a",
        client_name="Empresa A",
        product_type="kong",
        siesa_api_url="https://siesa.example.com",
        product_api_url="https://kong.example.com",
        last_sync_watermark="2025-01-01T00:00:00-05:00",
        **values,
    )


def rendered(entry: ClientStatus) -> str:
    console = Console(width=250, record=True)
    console.print(status_table(StatusReport(clients=[entry])))
    return console.export_text()


def test_a_stock_run_recorded_last_does_not_stand_for_the_last_sync() -> None:
    item = config(
        last_sync_status="partial",
        last_sync_timestamp=STOCK["finished_at"],
        last_sync_records=11,
        last_sync_run_id=STOCK["run_id"],
    )
    entry = ClientStatus(item, [STOCK, FULL], last_stock_run=STOCK, last_data_run=FULL)
    document = entry.to_json()
    assert document["last_sync"]["run_id"] == FULL["run_id"]
    assert document["last_sync"]["status"] == "success"
    assert document["last_sync"]["timestamp"] == FULL["finished_at"]
    assert document["last_sync"]["watermark"] == "2025-01-01T00:00:00-05:00"
    assert document["last_stock_sync"] == {
        "status": "partial",
        "timestamp": STOCK["finished_at"],
        "records_changed": 12,
        "records_failed": 1,
        "run_id": STOCK["run_id"],
    }
    text = rendered(entry)
    assert "stock sync" in text and "stock changed" in text
    (row,) = [line for line in text.splitlines() if "cliente-a" in line]
    assert row.index(FULL["finished_at"]) < row.index("partial") < row.index(STOCK["finished_at"])


def test_without_stock_runs_the_status_is_the_items_and_has_no_stock_columns() -> None:
    item = config(last_sync_status="success", last_sync_run_id=FULL["run_id"], last_sync_records=9)
    entry = ClientStatus(item, [FULL])
    assert entry.to_json()["last_stock_sync"] is None
    # what the last run loaded, from its history item, not the item's older count (9)
    assert entry.to_json()["last_sync"]["records"] == FULL["records_processed"]
    assert "stock" not in rendered(entry)
