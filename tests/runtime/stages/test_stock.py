"""The stock-only sync's core: which records change, to what, and when a sync is refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ops.errors import InputError
from ops.sync import refuse_stock_sync
from runtime.config import ClientConfig, StockSettings
from runtime.errors import InvalidClientConfig
from runtime.stages.stock import (
    StockTally,
    check_stock_sync,
    stock_groups,
    stock_outcome,
)

KONG = ("quantity",)


def rows(*pairs: tuple[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"page#{n}", {"f_codigo": "P1", "f_bodega": warehouse, "f_cantidad": quantity})
        for n, (warehouse, quantity) in enumerate(pairs, start=1)
    ]


def entry(record_id: str, quantity: Any, warehouse: str | None = None) -> dict[str, Any]:
    product = {"product_id": record_id, "name": "Camisa", "quantity": quantity, "tags": ["a"]}
    return {"id": record_id, "product": product, "warehouse": warehouse}


def outcome(
    found: list[tuple[str, dict[str, Any]]], entries: list[dict[str, Any]], **settings: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], StockTally]:
    tally = StockTally()
    result = stock_outcome("P1", found, entries, StockSettings(**settings), KONG, tally)
    return result.ready, result.rejections, tally


def test_the_sum_of_every_warehouse_is_the_default_and_the_whole_record_is_sent() -> None:
    ready, rejections, _ = outcome(rows(("BOD-01", "10.0"), ("BOD-02", 5)), [entry("P1", 12)])
    assert rejections == []
    (line,) = ready
    assert line["product"] == {"product_id": "P1", "name": "Camisa", "quantity": 15, "tags": ["a"]}
    assert line["id"] == "P1" and line["source_key"] == "P1" and line["position"] == "page#1"


def test_one_warehouse_takes_its_row_only_and_an_unchanged_quantity_sends_nothing() -> None:
    found = rows(("BOD-01", 12), ("BOD-02", 5))
    ready, _, tally = outcome(found, [entry("P1", Decimal(12))], warehouse="BOD-01")
    assert ready == [] and tally.unchanged == 1
    ready, _, _ = outcome(found, [entry("P1", 12)], warehouse="BOD-02")
    assert [line["product"]["quantity"] for line in ready] == [5]
    ready, _, tally = outcome(found, [entry("P1", 12)], warehouse="BOD-09")
    assert ready == [] and tally.no_row == 1


def test_each_line_of_a_one_to_many_record_takes_its_own_warehouse_row() -> None:
    found = rows(("BOD-01", 4), ("BOD-02", 9))
    lines = [entry("P1-BOD-01", 4, "BOD-01"), entry("P1-BOD-02", 7, "BOD-02")]
    ready, _, tally = outcome(found, lines, warehouse="BOD-01")  # the choice does not apply
    assert [(line["id"], line["product"]["quantity"]) for line in ready] == [("P1-BOD-02", 9)]
    assert ready[0]["warehouse"] == "BOD-02" and ready[0]["position"] == "page#2"
    assert tally.unchanged == 1


def test_bad_quantities_are_rejected_with_the_reason_and_unknown_items_are_not_sent() -> None:
    _, rejections, _ = outcome(rows(("BOD-01", "abc")), [entry("P1", 1)])
    assert [r["reason"] for r in rejections] == ["stock: f_cantidad: not a number"]
    _, rejections, _ = outcome(rows(("BOD-01", -3)), [entry("P1", 1)])
    assert rejections[0]["reason"] == "stock: f_cantidad: negative stock -3"
    assert rejections[0]["record"]["f_cantidad"] == -3
    ready, rejections, tally = outcome(rows(("BOD-01", 3)), [])
    assert (ready, rejections, tally.not_held) == ([], [], 1)
    two_lines = [entry("P1-A", 1), entry("P1-B", 2)]  # several records, no warehouse known
    _, rejections, _ = outcome(rows(("BOD-01", 3)), two_lines)
    assert len(rejections) == 2 and "line_warehouse_field" in rejections[0]["reason"]


def test_an_items_rows_cut_by_a_page_boundary_are_grouped_together() -> None:
    def row(code: str, warehouse: str) -> tuple[str, dict[str, Any]]:
        return f"{code}{warehouse}", {"f_codigo": f" {code} ", "f_bodega": warehouse}

    pages = [[row("A", "1"), row("B", "1")], [row("B", "2"), row("C", "1")], []]
    grouped = [
        [(key, [p for p, _ in found]) for key, found in page] for page in stock_groups(pages)
    ]
    assert grouped == [[("A", ["A1"])], [("B", ["B1", "B2"])], [], [("C", ["C1"])]]


def connekta_config(**stock: Any) -> ClientConfig:
    return ClientConfig(
        client_id="cliente-f",
        client_name="Empresa F",
        product_type="wms",
        siesa_api_url="https://siesa.example.com",
        product_api_url="https://wms.example.com",
        siesa_dialect="connekta",
        connekta={"query": "INTEGRACION_ITEMS", "id_compania": 1, "company_code": 1},
        stock=stock or None,
    )


def test_a_connekta_client_without_a_stock_column_is_refused_with_what_to_set() -> None:
    with pytest.raises(InvalidClientConfig, match=r"set stock\.connekta_column"):
        check_stock_sync(connekta_config())
    with pytest.raises(
        InputError, match=r"refused: client cliente-f: .*saved query's stock column"
    ):
        refuse_stock_sync(connekta_config())
    check_stock_sync(connekta_config(connekta_column="f400_cant_existencia_1"))
