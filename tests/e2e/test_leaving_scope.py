"""Records leaving a client's scope, through the local engine: each choice a client can make.

A record is loaded by a full sync, then deleted in the simulated ERP; the next
full sync does not see it, and the product ends as the client chose in its
config (`left_scope`): stock 0, marked inactive (`attributes.active: false`),
or only reported. The summary counts it and lists it either way.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from e2e_support import E2eEngine, kong_client, wms_client, worlds

from local.demo_world import ClientWorld
from ops.reconcile import reconcile

sys.path.append(str(Path(__file__).parents[1] / "runtime"))
from compiled_maps import add_to_bundle, compile_test_map

QUANTITY = {"kong": "quantity", "wms": "available_quantity"}


def _held(world: ClientWorld, record_id: str) -> dict[str, Any]:
    held = world.held()
    assert record_id in held, f"the product no longer holds {record_id}"
    return dict(held[record_id])


@pytest.mark.parametrize(
    ("product", "choice"),
    [
        ("kong", "zero_stock"),
        ("kong", "mark_inactive"),
        ("kong", "report"),
        ("wms", "zero_stock"),
        ("wms", "mark_inactive"),
    ],
)
def test_a_deleted_record_ends_as_the_client_chose_after_the_next_full_sync(
    engine: E2eEngine, product: str, choice: str
) -> None:
    make = kong_client if product == "kong" else wms_client
    spec = make(f"ls-{product}-{choice.replace('_', '-')}", seed=23)
    with worlds(spec, products=30) as running:
        world = running[spec.client_id]
        engine.add(world, left_scope=choice)
        first = engine.sync(world.client_id, "initial")
        assert first.summary is not None and first.summary["records_left_scope"] == 0
        loaded = sorted(
            record_id for record_id, record in world.held().items() if record.get(QUANTITY[product])
        )
        gone, kept = loaded[0], loaded[1]
        before = _held(world, gone)
        world.catalog.remove(gone)

        second = engine.sync(world.client_id, "initial")

        summary = second.summary
        assert summary is not None, second.error
        assert summary["records_left_scope"] == 1
        block = summary["left_scope"]
        assert (block["choice"], block["count"], block["failed"]) == (choice, 1, 0)
        (line,) = block["records"]
        assert line["id"] == gone and line["why"] == "absent from the ERP's full extract"
        after = _held(world, gone)
        if choice == "zero_stock":
            assert line["outcome"] == "zeroed"
            assert after == {**before, QUANTITY[product]: 0}
        elif choice == "mark_inactive":
            assert line["outcome"] == "marked inactive"
            assert after == {**before, "attributes": {**before["attributes"], "active": False}}
        else:
            assert line["outcome"] == "reported" and after == before
        assert _held(world, kept)[QUANTITY[product]] > 0  # the records still in the ERP stay

        report = reconcile(world.client_id, deployment=engine.deployment)
        assert [(r["id"], r["outcome"]) for r in report.left_scope] == [(gone, line["outcome"])]
        assert report.ok, report.differences  # held but left scope: not an orphan

        third = engine.sync(world.client_id, "initial")
        assert third.summary is not None and third.summary["records_left_scope"] == 0


def test_a_record_deactivated_in_the_erp_is_skipped_and_its_stock_zeroed_by_the_next_sync(
    engine: E2eEngine,
) -> None:
    s3 = engine.deployment.client("s3")
    # kong.map plus `skip when f_activo == "N"` (tests/runtime/maps/kong-activos.map)
    mapping = add_to_bundle(s3, engine.deployment.bucket, compile_test_map("kong-activos"))
    spec = kong_client("ls-deactivated", seed=29)
    with worlds(spec, products=30) as running:
        world = running[spec.client_id]
        engine.add(world, left_scope="zero_stock", field_mappings_key=mapping)
        engine.sync(world.client_id, "initial")
        loaded = sorted(r for r, record in world.held().items() if record.get("quantity"))
        deactivated = loaded[0]
        before = _held(world, deactivated)
        world.catalog.modify([deactivated], changes={"f_activo": "N"})

        outcome = engine.sync(world.client_id, "incremental")

        summary = outcome.summary
        assert summary is not None, outcome.error
        assert summary["records_skipped"] == 1 and summary["records_failed"] == 0
        assert summary["records_left_scope"] == 1
        (line,) = summary["left_scope"]["records"]
        assert (line["id"], line["why"], line["outcome"]) == (
            deactivated,
            "skipped by the mapping",
            "zeroed",
        )
        assert _held(world, deactivated) == {**before, "quantity": 0}
