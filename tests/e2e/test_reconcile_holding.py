"""`siesa reconcile` reads the product's whole holding through its listing, on the local engine.

A client is synced through the workflow; reconcile then pages the product's
listing a few records at a time and finds nothing lost. The product is then
given, behind its API's back, a record no ERP record maps to (an orphan) and
a second copy of a loaded record: the command names both by id, in its JSON
and its tables, and exits 1 as for any difference.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from e2e_support import E2eEngine, kong_client, wms_client, worlds
from typer.testing import CliRunner

from cli.app import app
from local.demo_world import ClientWorld

PRODUCTS = 40
PAGE_SIZE = 7
ID_FIELD = {"kong": "product_id", "wms": "item_id"}


def reconcile_cli(engine: E2eEngine, world: ClientWorld, *options: str) -> Any:
    """`siesa reconcile` in process against the embedded AWS, pages of PAGE_SIZE."""
    return CliRunner().invoke(
        app,
        [
            "reconcile",
            "--client",
            world.client_id,
            "--page-size",
            str(PAGE_SIZE),
            "--endpoint-url",
            engine.aws.url,
            *options,
        ],
    )


def listing_pages(world: ClientWorld) -> list[str]:
    """The query strings of the listing requests the product answered."""
    return [
        entry.query
        for entry in world.product.log.entries()
        if entry.method == "GET" and f"limit={PAGE_SIZE}" in entry.query
    ]


@pytest.mark.parametrize("product", ["kong", "wms"])
def test_reconcile_pages_the_whole_holding_and_names_orphans_and_records_held_twice(
    engine: E2eEngine, product: str
) -> None:
    make = kong_client if product == "kong" else wms_client
    spec = make(f"rh-{product}", seed=31)
    with worlds(spec, products=PRODUCTS) as running:
        world = running[spec.client_id]
        engine.add(world)
        outcome = engine.sync(world.client_id, "initial")
        assert outcome.status in ("success", "partial"), outcome.error
        holding = len(world.held())
        assert holding > 2 * PAGE_SIZE

        world.product.log.clear()
        clean = reconcile_cli(engine, world, "--json")
        assert clean.exit_code == 0, clean.output
        document = json.loads(clean.stdout)
        # paged PAGE_SIZE at a time, every page once, every record read
        assert len(listing_pages(world)) == math.ceil(holding / PAGE_SIZE)
        assert document["product_records"] == holding
        assert document["listing_checked"] is True and document["differences"] == []
        assert document["in_scope"] == document["loaded"] + document["reported"] > 0
        assert document["orphans"] == {"count": 0, "examples": []}

        store = world.live_store()
        first, second = sorted(store)[:2]
        store["ZZ-ORPHAN-1"] = {**store[first], ID_FIELD[product]: "ZZ-ORPHAN-1"}
        store[f"{second} "] = dict(store[second])  # the same record a second time

        damaged = reconcile_cli(engine, world, "--json")
        assert damaged.exit_code == 1, damaged.output
        document = json.loads(damaged.stdout)
        assert document["ok"] is False and document["product_records"] == holding + 2
        assert document["orphans"] == {"count": 1, "examples": ["ZZ-ORPHAN-1"]}
        assert document["held_twice"] == {"count": 1, "examples": [second]}
        assert document["duplicates"] == 1 and document["lost"] == 0
        assert sorted((d["kind"], d["record_id"]) for d in document["differences"]) == [
            ("held_twice", second),
            ("orphan", "ZZ-ORPHAN-1"),
        ]

        table = reconcile_cli(engine, world)
        assert table.exit_code == 1, table.output
        assert f"the product holds {holding + 2:,} records (read through its listing)" in (
            table.stdout
        )
        assert "orphans (no ERP record maps to them): 1: ZZ-ORPHAN-1" in table.stdout
        assert f"held twice: 1: {second}" in table.stdout
        assert "orphan: held by the product, but no ERP record" in table.stdout
        assert world.product_key not in table.output + damaged.output
