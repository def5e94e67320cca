"""The stock-only sync's core: the ERP's stock rows against the product records last sent.

A stock row is `{"f_codigo", "f_bodega", "f_cantidad"}` (GET /inventory/stock:
one row per product and warehouse). The rows of one ERP item are grouped
(`stock_groups`: the listing serves an item's warehouses together, ordered
by item, so a group cut by a page boundary is carried to the next page), then
each product record the item became (runtime/stock_store.py) gets its
quantity:

- a line of a one-to-many mapping (an entry with a `warehouse`) takes its
  own warehouse's row;
- otherwise the client's `stock.warehouse`: "sum" adds every warehouse's row,
  a warehouse id takes that one row.

Only a record whose quantity changed becomes a product-ready line: the whole
product record last sent with the new quantity (Kong and WMS have no partial
update). A quantity that is not a number, or is negative, is a rejection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from runtime.config import STOCK_SUM, ClientConfig, StockSettings
from runtime.errors import InvalidClientConfig
from runtime.product_types import leaving_scope_field

Row = dict[str, Any]
Line = dict[str, Any]
Group = tuple[str, list[tuple[str, Row]]]
"""An ERP key and its stock rows, each with its position (`page key#n`)."""


def stock_refusal(dialect: str, connekta_column: str | None) -> str | None:
    """Why a client cannot run a stock sync, or None: Connekta needs the stock column named."""
    if dialect == "connekta" and connekta_column is None:
        return (
            "a stock sync of a Connekta client reads the saved query's stock column, and the "
            "client config names none: set stock.connekta_column (e.g. f400_cant_existencia_1) "
            "or run full and incremental syncs only"
        )
    return None


def check_stock_sync(config: ClientConfig) -> None:
    """InvalidClientConfig when the client cannot run a stock sync (`stock_refusal`, the product)."""
    problem = stock_refusal(config.siesa_dialect, config.stock_settings.connekta_column)
    if problem is None and quantity_field(config.product_type) is None:
        problem = f"product type {config.product_type!r} has no stock field a stock sync can change"
    if problem is not None:
        raise InvalidClientConfig(f"client {config.client_id}: {problem}")


def stock_row_identity(row: Row) -> str:
    """A stock row's identity in the extract: its item and warehouse (one row per pair)."""
    return f"{row_key(row) or ''}\x1f{row_warehouse(row)}"


def quantity_field(product_type: str) -> tuple[str, ...] | None:
    """The product record's stock field (Kong `quantity`, WMS `available_quantity`), or None."""
    return leaving_scope_field(product_type, "zero_stock")


def row_key(row: Any) -> str | None:
    """A stock row's ERP key: its trimmed `f_codigo`."""
    value = row.get("f_codigo") if isinstance(row, dict) else None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def row_warehouse(row: Row) -> str:
    """A stock row's warehouse, trimmed."""
    return str(row.get("f_bodega") or "").strip()


def stock_groups(pages: Iterable[list[tuple[str, Any]]]) -> Iterator[list[Group]]:
    """Per page, its rows grouped by ERP key; a page's last group waits for the next page.

    Rows without a key are dropped (the ERP's contract requires one).
    """
    carried: Group | None = None
    for page in pages:
        groups: list[Group] = [carried] if carried is not None else []
        for position, row in page:
            key = row_key(row)
            if key is None:
                continue
            if groups and groups[-1][0] == key:
                groups[-1][1].append((position, row))
            else:
                groups.append((key, [(position, row)]))
        carried = groups.pop() if groups else None
        yield groups
    if carried is not None:
        yield [carried]


def parse_quantity(value: Any) -> Decimal | None:
    """A stock quantity as a Decimal ("100", "100.0", 100, 1.5); None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def product_value(quantity: Decimal) -> int | Decimal:
    """What the product is sent: an int for a whole number (as the mappings send it)."""
    return int(quantity) if quantity == quantity.to_integral_value() else quantity


@dataclass
class StockTally:
    """What a stock sync found: rows read, records changed, unchanged, not held, rejected."""

    rows: int = 0
    changed: int = 0
    unchanged: int = 0
    not_held: int = 0
    no_row: int = 0
    rejected: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StockOutcome:
    """What one ERP item's rows made: product-ready lines and rejections."""

    ready: list[Line]
    rejections: list[Line]


def _get(record: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        record = record.get(name) if isinstance(record, dict) else None
    return record


def _with(record: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of `record` with `path` set to `value` (nested objects copied, never shared)."""
    copy = dict(record)
    inner = copy
    for name in path[:-1]:
        inner[name] = dict(inner.get(name) or {})
        inner = inner[name]
    inner[path[-1]] = value
    return copy


def _chosen_rows(
    entry: dict[str, Any], entries: int, rows: list[tuple[str, Row]], settings: StockSettings
) -> tuple[list[tuple[str, Row]], str | None]:
    """The rows an entry's quantity comes from, or why there is none to choose."""
    warehouse = entry.get("warehouse")
    if warehouse is not None:
        return [r for r in rows if row_warehouse(r[1]) == warehouse], None
    if entries > 1:
        return [], (
            "this ERP item became several product records but the client's "
            "stock.line_warehouse_field does not say which warehouse each one is"
        )
    if settings.warehouse == STOCK_SUM:
        return rows, None
    return [r for r in rows if row_warehouse(r[1]) == settings.warehouse], None


def stock_outcome(
    erp_key: str,
    rows: list[tuple[str, Row]],
    entries: list[dict[str, Any]],
    settings: StockSettings,
    field_path: tuple[str, ...],
    tally: StockTally,
) -> StockOutcome:
    """The changed product records of one ERP item, each whole with its new quantity."""
    tally.rows += len(rows)
    if not entries:
        tally.not_held += 1
        return StockOutcome([], [])
    ready: list[Line] = []
    rejections: list[Line] = []
    for entry in entries:
        chosen, problem = _chosen_rows(entry, len(entries), rows, settings)
        if problem is None and not chosen:
            tally.no_row += 1
            continue
        values = [parse_quantity(row.get("f_cantidad")) for _, row in chosen]
        if problem is None and any(value is None for value in values):
            problem = "f_cantidad: not a number"
        total = sum((value for value in values if value is not None), Decimal(0))
        if problem is None and total < 0:
            problem = f"f_cantidad: negative stock {total}"
        position = chosen[0][0] if chosen else rows[0][0]
        if problem is not None:
            tally.rejected += 1
            tally.by_reason[problem] = tally.by_reason.get(problem, 0) + 1
            rejections.append(
                {
                    "id": entry["id"],
                    "stage": "mapping",
                    "reason": f"stock: {problem}",
                    "retryable": False,
                    "position": position,
                    "record": chosen[0][1] if chosen else rows[0][1],
                }
            )
            continue
        product = entry.get("product")
        current = parse_quantity(_get(product, field_path))
        if (current is not None and current == total) or not isinstance(product, dict):
            tally.unchanged += 1
            continue
        tally.changed += 1
        value = product_value(total)
        ready.append(
            {
                "id": entry["id"],
                "canonical": {"id": entry["id"], "stock_quantity": value},
                "product": _with(product, field_path, value),
                "position": position,
                "source_key": erp_key,
                "warehouse": entry.get("warehouse"),
            }
        )
    return StockOutcome(ready, rejections)
