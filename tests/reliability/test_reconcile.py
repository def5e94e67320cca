"""Reconciliation finds every kind of difference, and `siesa reconcile` shows them (exit 1).

One client is synced, then its product, ERP and run data are damaged one
way per kind: a loaded record deleted from the product, a value changed, a
record the product should not hold (an orphan), a record held twice, an ERP
record no run saw (missing) or rejected unreported, and a run that counted
a record twice.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from e2e_support import kong_client, wms_client, worlds
from harness import ReliabilityEngine, calm, source_factory
from scenario import assert_reconciled, reconciled, sync_together
from typer.testing import CliRunner

from cli.app import app
from local.sim.catalog import erp_timestamp
from ops.reconcile import reconcile
from runtime.runstore import page_key

RECORDS = 80


def kinds(report: Any) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for difference in report.differences:
        found.setdefault(difference.kind, set()).add(difference.record_id)
    return found


def test_each_kind_of_difference_is_found(engine: ReliabilityEngine) -> None:
    spec = kong_client("rc-kinds", seed=41)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        outcome = sync_together(engine, [world.client_id])[world.client_id]
        assert_reconciled(reconciled(engine, world))
        loaded = sorted(world.held())
        gone, changed = loaded[0], loaded[1]
        store = world.live_store()
        del store[gone]
        store[changed] = {**store[changed], "quantity": store[changed]["quantity"] + 1}
        store["ZZ-FOREIGN"] = {**store[loaded[2]], "product_id": "ZZ-FOREIGN"}
        store[f"{loaded[3]} "] = dict(store[loaded[3]])
        old = erp_timestamp(datetime(2025, 1, 6, 7, 0, 0))  # long before the watermark
        unseen = {
            **world.catalog.records()[5],
            "f_codigo": "LATE000001",
            "f_fecha_modificacion": old,
        }
        unseen["f_codigo_externo"] = "SIESA-LATE000001"
        world.catalog.put(unseen)
        world.catalog.put({**unseen, "f_codigo": "LATE000002", "f_cantidad": -4})
        run_store = engine.deployment.run_store()
        key = page_key(world.client_id, outcome.run_id or "", "canonical", 1)
        records = run_store.read_page(key)
        run_store.write_page(key, [*records, records[-1]])

        report = reconciled(engine, world)
        found = kinds(report)
        assert found["loaded_but_absent"] == {gone}
        assert found["wrong_values"] == {changed}
        assert found["orphan"] == {"ZZ-FOREIGN"}
        assert found["missing"] == {"LATE000001"}
        assert found["unreported_reject"] == {"LATE000002"}
        assert found["held_twice"] == {loaded[3]}
        assert found["duplicate"] == {str(records[-1]["id"])}
        assert report.lost == 3 and report.duplicates == 2 and not report.ok

        result = CliRunner().invoke(
            app,
            ["reconcile", "--client", world.client_id, "--json", "--endpoint-url", engine.aws.url],
        )
        assert result.exit_code == 1, result.output
        document = json.loads(result.stdout)
        assert document["ok"] is False
        assert {d["kind"] for d in document["differences"]} == set(found)
        assert document["listing_checked"] is True
        assert document["orphans"] == {"count": 1, "examples": ["ZZ-FOREIGN"]}
        assert document["held_twice"] == {"count": 1, "examples": [loaded[3]]}
        assert not any("no listing" in note for note in document["notes"])
        table = CliRunner().invoke(
            app, ["reconcile", "--client", world.client_id, "--endpoint-url", engine.aws.url]
        )
        assert table.exit_code == 1 and "loaded_but_absent" in table.stdout
        assert world.siesa_key not in table.output + result.output
        assert world.product_key not in table.output + result.output


def test_a_clean_client_reconciles_through_the_command(engine: ReliabilityEngine) -> None:
    spec = wms_client("rc-clean", seed=42)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        sync_together(engine, [world.client_id])
        calm(world)
        result = CliRunner().invoke(
            app, ["reconcile", "--client", world.client_id, "--endpoint-url", engine.aws.url]
        )
        assert result.exit_code == 0, result.output
        assert "no differences" in result.stdout
        report = reconcile(
            world.client_id,
            deployment=engine.deployment,
            source_factory=source_factory(engine.waits),
        )
        assert report.ok and report.in_scope == RECORDS and report.pending == 0
        assert report.loaded + report.reported == RECORDS


def test_before_any_run_everything_is_pending(engine: ReliabilityEngine) -> None:
    spec = kong_client("rc-new", seed=43)
    with worlds(spec, products=20) as running:
        world = running[spec.client_id]
        engine.add(world)
        report = reconciled(engine, world)
        assert (report.in_scope, report.pending, report.ok) == (0, 20, True)
        assert any("no run has finished" in note for note in report.notes)
