"""`siesa reconcile` tells the truth after a failed run: what no finished run delivered is missing.

The walkthrough of issue 15: a client is synced, then an initial sync fails
with the product down (its loader reports every record "not loaded"), and
the product comes back empty. Reconcile must not count the failed run's
report as "reported": it exits 1, names the records, and says which command
repairs them (a replay of the failed run); a later incremental sync that
changes nothing repairs nothing, so it still does. The replay it names then
delivers them, and reconcile is clean again.
"""

from __future__ import annotations

import json
from typing import Any

from e2e_support import kong_client, worlds
from harness import ReliabilityEngine, calm, product_injectors
from typer.testing import CliRunner

from cli.app import app
from local.demo_world import ClientWorld

RECORDS = 60


def reconcile_cli(engine: ReliabilityEngine, world: ClientWorld, *options: str) -> Any:
    """`siesa reconcile` in process against the embedded AWS."""
    return CliRunner().invoke(
        app,
        ["reconcile", "--client", world.client_id, "--endpoint-url", engine.aws.url, *options],
    )


def test_records_a_failed_run_did_not_deliver_are_missing_until_a_run_delivers_them(
    engine: ReliabilityEngine,
) -> None:
    spec = kong_client("rc-truth", seed=44)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        first = engine.sync(world.client_id, "initial")
        assert first.status in ("success", "partial"), first.error
        delivered = sorted(world.held())
        assert len(delivered) > RECORDS // 2

        for injector in product_injectors(world):
            injector.set(error_503_rate=1.0)
        down = engine.sync(world.client_id, "initial")
        assert down.status == "failed" and down.run_id
        calm(world)
        world.live_store().clear()  # the product comes back empty

        replay = f"siesa replay --client {world.client_id} --run {down.run_id}"
        for moment in ("after the failed run", "after an incremental sync that changes nothing"):
            result = reconcile_cli(engine, world, "--json")
            assert result.exit_code == 1, (moment, result.output)
            document = json.loads(result.stdout)
            lost = {d["record_id"] for d in document["differences"]}
            assert lost == set(delivered), moment
            assert document["lost"] == len(delivered) and document["ok"] is False
            assert document["unfinished_runs"] == [down.run_id]
            assert all(down.run_id in d["detail"] for d in document["differences"])
            assert document["next_steps"] == [replay]
            table = reconcile_cli(engine, world)
            assert table.exit_code == 1
            assert delivered[0] in table.stdout and "no differences" not in table.stdout
            assert table.stdout.rstrip().splitlines()[-1] == f"next step: {replay}"
            quiet = engine.sync(world.client_id, "incremental")
            assert quiet.status == "success", quiet.error
            assert quiet.summary and quiet.summary["records_processed"] == 0

        replayed = CliRunner().invoke(
            app,
            [
                "replay",
                "--client",
                world.client_id,
                "--run",
                down.run_id,
                "--endpoint-url",
                engine.aws.url,
            ],
        )
        assert replayed.exit_code in (0, 3), replayed.output
        assert set(delivered) <= set(world.held())
        repaired = reconcile_cli(engine, world, "--json")
        document = json.loads(repaired.stdout)
        assert document["lost"] == 0, repaired.output
