"""The demo's stock-only sync: one client's ERP stock moves, and only those quantities move.

The client is the version 2 WMS client (one WMS item per product and
warehouse), so both kinds of line show: the stock of a few items changes in
their main warehouse and of a few others in their second one, without
touching their modification time (an incremental sync would not see it).
A `sync_type: stock` run must then change exactly those WMS items, each in
`available_quantity` only, and leave the client's watermark where the
incremental sync put it. `siesa status` shows it apart from the data syncs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

import ops
from local.demo_world import ClientWorld
from local.sim.vocabulary import WAREHOUSES
from ops.render import styled_status

STOCK_CLIENT = "cliente-g"
ITEMS_PER_WAREHOUSE = 3
QUANTITY_FIELD = "available_quantity"

RunSyncs = Callable[[ops.Deployment, Mapping[str, ClientWorld], str, Console], dict[str, Any]]


def stock_world(worlds: Mapping[str, ClientWorld]) -> ClientWorld | None:
    """The client whose stock the demo changes (cliente-g, else any with stock lines), or None."""
    if STOCK_CLIENT in worlds:
        return worlds[STOCK_CLIENT]
    return next((world for world in worlds.values() if world.spec.stock_lines), None)


def change_stock(world: ClientWorld) -> set[str]:
    """Raise the stock of a few held items in each warehouse; the product record ids that must move."""
    held = world.held()
    both = [
        code
        for code in world.catalog.ids()
        if len(ids := world.product_ids(code)) == len(WAREHOUSES) and all(i in held for i in ids)
    ]
    moved: set[str] = set()
    for index, warehouse in enumerate(WAREHOUSES):
        start = index * ITEMS_PER_WAREHOUSE
        codes = both[start : start + ITEMS_PER_WAREHOUSE]
        world.catalog.change_stock(codes, warehouse=warehouse)
        moved.update(f"{code}-{warehouse}" for code in codes)
    return moved


def run_stock_sync(
    console: Console,
    deployment: ops.Deployment,
    world: ClientWorld,
    run_syncs: RunSyncs,
) -> tuple[Any, list[str]]:
    """Change the ERP's stock, run the client's stock-only sync, check it; (its report, problems)."""
    client_id = world.client_id
    console.rule(f"Stock moves in {client_id}'s ERP; a stock-only sync")
    store = deployment.config_store()
    watermark = store.get(client_id).last_sync_watermark
    before = world.held()
    wanted = change_stock(world)
    report = run_syncs(deployment, {client_id: world}, "stock", console)[client_id]
    after = world.held()
    moved = {rid for rid, held in after.items() if before.get(rid) != held}
    fields = {
        name
        for rid in moved
        for name in set(after[rid]) | set(before.get(rid, {}))
        if after[rid].get(name) != before.get(rid, {}).get(name)
    }
    status = ops.status(client_id, deployment=deployment).clients[0]
    stock_run = status.last_stock_sync or {}
    table = Table(title="Stock-only sync: only the quantities that moved", title_justify="left")
    for column in (
        "client",
        "stock rows changed",
        "sent",
        "product records changed",
        "fields changed",
        "others untouched",
        "status",
    ):
        table.add_column(column, justify="right" if column != "client" else "left")
    table.add_row(
        client_id,
        f"{len(wanted):,}",
        f"{int(report.summary.get('records_processed') or 0):,}",
        f"{len(moved):,}",
        ", ".join(sorted(fields)) or "-",
        f"{len(set(after) - moved):,}",
        styled_status(report.outcome.status),
    )
    console.print(table)
    watermark_kept = store.get(client_id).last_sync_watermark == watermark
    console.print(
        f"  {len(wanted) // len(WAREHOUSES)} items' stock rose in each of {', '.join(WAREHOUSES)} "
        "(their modification time unchanged); each WMS item takes its own warehouse's row. "
        f"Watermark {'unchanged' if watermark_kept else 'MOVED'}; siesa status: last sync "
        f"{status.last_sync.get('status')}, last stock sync {stock_run.get('status')} "
        f"({stock_run.get('records_changed')} records)",
        highlight=False,
    )
    problems = []
    if moved != wanted:
        problems.append(
            f"{client_id}: the stock sync changed {sorted(moved)}, not the items whose stock "
            f"moved {sorted(wanted)}"
        )
    if fields - {QUANTITY_FIELD}:
        problems.append(f"{client_id}: the stock sync changed {sorted(fields)}, not only stock")
    if not watermark_kept:
        problems.append(f"{client_id}: the stock sync moved the watermark")
    if stock_run.get("run_id") != report.outcome.run_id:
        problems.append(f"{client_id}: siesa status does not show the stock sync apart")
    return report, problems
