"""What the reconcile tests of tests/ops share: the one-to-many golden mapping and a comparison.

The mapping is the golden tests/compiler/golden_valid/each_array.map
(`skip when f_activo == "N"`, `each line in f_bodegas`, id
`{f_codigo}-{f_bodega}` as `sku`), compiled by the real compiler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ops.catalog_differences import ErpRecord, ReconcileReport, compare
from ops.run_evidence import RunEvidence

LINES_MAP = Path(__file__).parents[1] / "compiler" / "golden_valid" / "each_array.map"
BEFORE = "2025-01-15 10:00:00"
WATERMARK = "2025-02-01 00:00:00"


def compared(
    mapping: Any,
    erp: list[ErpRecord],
    run: RunEvidence,
    held: Mapping[str, Any],
    listing: Sequence[Mapping[str, Any]] | None,
) -> ReconcileReport:
    """The report of one run over `erp`; the product reads `held` by id and lists `listing`."""
    return compare(
        report=ReconcileReport("cliente-l", "wms", "stock-per-warehouse", None, WATERMARK),
        mapping=mapping,
        id_field="sku",
        erp=erp,
        scope_before=WATERMARK,
        runs=[run],
        read_product=held.get,
        listing=listing,
    )
