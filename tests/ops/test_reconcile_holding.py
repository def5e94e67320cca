"""The product's whole holding against the ERP: orphans and records held twice, counted with examples.

The mapping is the golden each_array.map (id `{f_codigo}-{f_bodega}` as
`sku`); the holding is what the product's listing served, in its order, a
record held twice listed twice.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from compiler.pipeline import compile_file
from contract.loaded import LoadedMapping
from ops.catalog_differences import EXAMPLES, ErpRecord, ReconcileReport
from ops.run_evidence import RunEvidence

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from reconcile_support import BEFORE, LINES_MAP, compared


@pytest.fixture(scope="module")
def mapping() -> LoadedMapping:
    return compile_file(LINES_MAP).load()


def held(sku: str, quantity: int = 3) -> dict[str, Any]:
    return {"sku": sku, "warehouse": sku.rsplit("-", 1)[-1], "quantity": quantity}


def reconciled(
    mapping: LoadedMapping, codes: list[str], listing: list[dict[str, Any]], *, listed: bool = True
) -> ReconcileReport:
    """ERP records `codes`, each one line in warehouse 01 with 3 units, all loaded by one run.

    The product holds `listing`; `listed` False is a product without a listing.
    """
    line = {"f_bodega": "01", "cantidad": 3}
    erp = [ErpRecord(code, BEFORE, {"f_codigo": code, "f_bodegas": [line]}) for code in codes]
    run = RunEvidence("run-1", "success", None, loaded={f"{code}-01" for code in codes})
    by_id = {record["sku"]: record for record in listing}
    return compared(mapping, erp, run, by_id, listing if listed else None)


def test_orphans_and_records_held_twice_are_differences_named_by_id(
    mapping: LoadedMapping,
) -> None:
    listing = [held("P1-01"), held("P1-01"), held("P2-01"), held("P2-01 "), held("ZZ-09")]

    report = reconciled(mapping, ["P1", "P2"], listing)

    assert (report.loaded, report.product_records, report.listing_checked) == (2, 5, True)
    assert sorted((d.kind, d.record_id, d.detail) for d in report.differences) == [
        ("held_twice", "P1-01", "the product holds it 2 times"),
        ("held_twice", "P2-01", "the product holds it 2 times (as 'P2-01', 'P2-01 ')"),
        ("orphan", "ZZ-09", "the product holds it, but no ERP record of this client maps to it"),
    ]
    assert (report.orphans, report.held_twice, report.duplicates, report.ok) == (1, 2, 2, False)
    document = report.to_json()
    assert document["orphans"] == {"count": 1, "examples": ["ZZ-09"]}
    assert document["held_twice"] == {"count": 2, "examples": ["P1-01", "P2-01"]}
    assert document["product_records"] == 5


def test_examples_are_capped_and_the_count_is_whole(mapping: LoadedMapping) -> None:
    orphans = [held(f"ZZ-{n:02d}") for n in range(EXAMPLES + 3)]

    report = reconciled(mapping, ["P1"], [held("P1-01"), *orphans])

    document = report.to_json()
    assert document["orphans"]["count"] == EXAMPLES + 3
    assert document["orphans"]["examples"] == [f"ZZ-{n:02d}" for n in range(EXAMPLES)]


def test_a_holding_that_matches_the_erp_has_no_difference(mapping: LoadedMapping) -> None:
    report = reconciled(mapping, ["P1", "P2"], [held("P1-01"), held("P2-01")])

    assert report.ok and report.to_json()["orphans"] == {"count": 0, "examples": []}


def test_without_a_listing_neither_is_looked_for(mapping: LoadedMapping) -> None:
    report = reconciled(
        mapping, ["P1"], [held("P1-01"), held("P1-01"), held("ZZ-09")], listed=False
    )

    assert report.listing_checked is False and report.product_records is None
    assert report.ok and report.loaded == 1
