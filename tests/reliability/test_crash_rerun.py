"""A loader killed between batches: the re-run loads the rest, nothing twice, nothing passed over.

The loader crashes after batch k of n (an exception between two batches,
what a Lambda killed mid-run leaves). The run must end failed with an alert,
report every record it did not load, leave the watermark where it was and
the retry state untouched; the re-run must load the rest, the product must
hold each record once (writes are upserts by id), and run history must show
both runs. After every run, reconciliation checks that the watermark passed
no record that was neither loaded nor reported.
"""

from __future__ import annotations

from e2e_support import kong_client, wms_client, worlds
from harness import BATCH_SIZE, ReliabilityEngine
from matrix import MatrixRow, record_row
from scenario import (
    alerts_for,
    assert_reconciled,
    change_between_runs,
    reconciled,
    runs_of,
    sync_together,
    watermark,
)

from runtime.carryover import state_prefix
from runtime.runstore import failed_records_key

RECORDS = 300
GROUP = "Crash and re-run"


def canonical_ids(engine: ReliabilityEngine, client_id: str, run_id: str) -> list[str]:
    """The run's canonical record ids, in load order."""
    store = engine.deployment.run_store()
    listed = store.s3.list_objects_v2(
        Bucket=store.bucket, Prefix=f"runs/{client_id}/{run_id}/canonical/"
    )["Contents"]
    return [
        str(record["id"])
        for key in sorted(item["Key"] for item in listed)
        for record in store.iter_lines(key)
    ]


def retry_state_exists(engine: ReliabilityEngine, client_id: str) -> bool:
    store = engine.deployment.run_store()
    return any(store.list_keys(state_prefix(client_id)))


def test_a_loader_killed_after_batch_3_of_6_is_finished_by_the_rerun(
    engine: ReliabilityEngine,
) -> None:
    spec = kong_client("cr-kong", seed=51)
    engine.alerts()
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        engine.injections.crash_after_batches[world.client_id] = 3
        crashed = sync_together(engine, [world.client_id])[world.client_id]
        engine.injections.crash_after_batches.pop(world.client_id)

        assert (crashed.status, crashed.error) == ("failed", "LoaderCrash")
        (alert,) = alerts_for(engine.alerts(), world.client_id)
        assert "Error: LoaderCrash" in alert["Message"]
        assert watermark(engine, world.client_id) is None
        assert not retry_state_exists(engine, world.client_id)
        order = canonical_ids(engine, world.client_id, crashed.run_id or "")
        assert len(order) > 5 * BATCH_SIZE
        first_three, rest = order[: 3 * BATCH_SIZE], order[3 * BATCH_SIZE :]
        assert set(world.held()) == set(first_three)
        lines = list(
            engine.deployment.run_store().iter_lines(
                failed_records_key(world.client_id, crashed.run_id or "")
            )
        )
        not_loaded = [line["id"] for line in lines if line["stage"] == "product"]
        assert sorted(not_loaded) == sorted(rest)
        assert all("the run stopped on LoaderCrash" in line["reason"] for line in lines[-3:])
        report = reconciled(engine, world)
        assert report.lost == 0 and report.duplicates == 0  # no watermark yet: all pending

        rerun = sync_together(engine, [world.client_id], "incremental")[world.client_id]
        assert rerun.status in ("success", "partial") and rerun.error is None
        assert set(world.held()) == set(order)  # the rest loaded; upserts: nothing twice
        history = runs_of(engine, world.client_id)
        assert [(run["run_id"], run["status"]) for run in history] == [
            (rerun.run_id, rerun.status),
            (crashed.run_id, "failed"),
        ]
        assert "LoaderCrash" in history[1]["error"]
        assert watermark(engine, world.client_id) is not None
        report = reconciled(engine, world)
        assert_reconciled(report)
    record_row(
        MatrixRow(
            group=GROUP,
            scenario="loader killed after batch 3 of 6, first run",
            product="kong",
            faults="exception between batch 3 and 4",
            status="failed (LoaderCrash), alert; re-run " + rerun.status,
            in_scope=report.in_scope,
            loaded=report.loaded,
            reported=report.reported,
            lost=report.lost,
            duplicates=report.duplicates,
            order=200,
        )
    )


def test_crashes_in_a_row_after_a_good_run_never_move_the_watermark(
    engine: ReliabilityEngine,
) -> None:
    spec = wms_client("cr-wms", seed=52)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        sync_together(engine, [world.client_id])
        before = watermark(engine, world.client_id)
        assert before is not None
        change_between_runs(engine, world, world.catalog.ids()[::2])  # half changes: 3 batches
        for batches in (1, 2):
            engine.injections.crash_after_batches[world.client_id] = batches
            crashed = sync_together(engine, [world.client_id], "incremental")[world.client_id]
            assert crashed.error == "LoaderCrash"
            assert watermark(engine, world.client_id) == before
            report = reconciled(engine, world)
            assert report.lost == 0 and report.duplicates == 0
        engine.injections.crash_after_batches.pop(world.client_id)
        rerun = sync_together(engine, [world.client_id], "incremental")[world.client_id]
        assert rerun.error is None
        after = watermark(engine, world.client_id)
        assert after is not None and after >= before
        assert [run["status"] for run in runs_of(engine, world.client_id)][:3] == [
            rerun.status,
            "failed",
            "failed",
        ]
        report = reconciled(engine, world)
        assert_reconciled(report)
    record_row(
        MatrixRow(
            group=GROUP,
            scenario="loader killed twice in a row on an incremental run",
            product="wms",
            faults="exception after batch 1, then after batch 2",
            status="failed, failed (LoaderCrash), alerts; re-run " + rerun.status,
            in_scope=report.in_scope,
            loaded=report.loaded,
            reported=report.reported,
            lost=report.lost,
            duplicates=report.duplicates,
            order=201,
        )
    )
