"""The watermark is failure-aware: what failed for a transient reason is retried by the next run,
what the mapping rejected is not sent again until the record or the mapping changes, and
`siesa replay` sends a run's failed records again through the current mapping.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from e2e_support import kong_client, worlds
from harness import ReliabilityEngine, omitting_results, world_with_product_app
from matrix import MatrixRow, record_row
from scenario import assert_reconciled, reconciled, runs_of, sync_together
from typer.testing import CliRunner

from cli.app import app
from compiler.bundle import compile_paths
from local.embedded_aws import LOCAL_ACCOUNT_ID
from local.provision import MAPPINGS_DIR, MAPPINGS_PREFIX
from ops.deploy.artefacts import OwnedBucket, upload_mapping_bundle
from ops.deploy.signing import ManifestSigner
from ops.replay import replay
from runtime.carryover import read_state
from runtime.runstore import failed_records_key

GROUP = "Failure-aware watermark and replay"
RECORDS = 120
LENIENT_EAN = (
    "field ean string optional <- f_ean -> barcode "
    'check matches "^[0-9]{13}$" check ean13 on invalid drop'
)


def failed_lines(engine: ReliabilityEngine, client_id: str, run_id: str) -> list[dict[str, Any]]:
    """A run's failed-records report."""
    store = engine.deployment.run_store()
    return list(store.iter_lines(failed_records_key(client_id, run_id)))


def run_item(engine: ReliabilityEngine, client_id: str, run_id: str) -> dict[str, Any]:
    item = engine.deployment.run_history().get(client_id, run_id)
    assert item is not None
    return item


@contextmanager
def lenient_kong_mapping(engine: ReliabilityEngine, scratch: Path) -> Iterator[None]:
    """kong.map changed to drop a bad EAN instead of rejecting the record, published for the block."""
    s3 = engine.deployment.client("s3")
    bucket = engine.deployment.bucket
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=MAPPINGS_PREFIX)["Contents"]
    saved = {
        item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed
    }
    sources = scratch / "mappings"
    shutil.copytree(MAPPINGS_DIR, sources)
    kong = sources / "kong.map"
    lines = kong.read_text(encoding="utf-8").splitlines()
    kong.write_text(
        "\n".join(LENIENT_EAN if line.startswith("field ean ") else line for line in lines) + "\n",
        encoding="utf-8",
    )
    compile_paths([sources], scratch / "bundle")
    signer = ManifestSigner(engine.deployment.client("kms"), os.environ["MAPPINGS_SIGNING_KEY_ARN"])
    upload_mapping_bundle(
        OwnedBucket(s3, bucket, LOCAL_ACCOUNT_ID), scratch / "bundle", MAPPINGS_PREFIX, signer
    )
    try:
        yield
    finally:
        for key in sorted(saved, key=lambda name: name.endswith("manifest.json")):
            s3.put_object(Bucket=bucket, Key=key, Body=saved[key])


def test_a_record_the_product_gave_no_verdict_on_is_retried_by_the_next_run(
    engine: ReliabilityEngine,
) -> None:
    spec = kong_client("fw-noverdict", seed=31)
    silent = {"PROD000010", "PROD000050", "PROD000090"}
    with world_with_product_app(spec, RECORDS, omitting_results(silent)) as world:
        engine.add(world)
        first = sync_together(engine, [world.client_id])[world.client_id]
        assert first.status == "partial"
        lines = {
            line["id"]: line for line in failed_lines(engine, world.client_id, first.run_id or "")
        }
        for record_id in silent:
            line = lines[record_id]
            assert (line["stage"], line["retryable"]) == ("product", True)
            assert "gave no result" in line["reason"]
            assert line["record"]["f_codigo"].strip() == record_id  # the raw ERP copy, for replay
            assert line["canonical"]["id"] == record_id
        state = read_state(engine.deployment.run_store(), world.client_id)
        transient = {key for key, entry in state.records.items() if entry.kind == "transient"}
        rejected = {key for key, entry in state.records.items() if entry.kind == "rejected"}
        assert transient == silent
        assert rejected == {key for key, line in lines.items() if line["stage"] == "mapping"}
        assert_reconciled(reconciled(engine, world))

        # nothing changed in the ERP: the watermark alone would never send them again
        second = sync_together(engine, [world.client_id], "incremental")[world.client_id]
        assert second.status == "success"
        item = run_item(engine, world.client_id, second.run_id or "")
        assert item["retried_count"] == len(silent)
        assert item["records_processed"] == len(silent)
        assert item["extracted_count"] == 0
        state = read_state(engine.deployment.run_store(), world.client_id)
        assert {key for key, entry in state.records.items() if entry.kind == "transient"} == set()
        assert set(state.records) == rejected  # unchanged rejects wait for a change
        report = reconciled(engine, world)
        assert_reconciled(report)
        assert report.reported == len(rejected)
    record_row(
        MatrixRow(
            group=GROUP,
            scenario="product gives no verdict on 3 records",
            product="kong",
            faults="3 items left out of a bulk answer (stored, unconfirmed)",
            status="partial (3 retryable), next run success: retried 3",
            in_scope=report.in_scope,
            loaded=report.loaded,
            reported=report.reported,
            lost=report.lost,
            duplicates=report.duplicates,
            order=100,
        )
    )


def test_mapping_rejects_wait_for_a_change_of_the_mapping(
    engine: ReliabilityEngine, tmp_path: Path
) -> None:
    spec = kong_client("fw-rejects", seed=32)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        first = sync_together(engine, [world.client_id])[world.client_id]
        rejects = {
            line["id"]
            for line in failed_lines(engine, world.client_id, first.run_id or "")
            if line["stage"] == "mapping"
        }
        bad_ean = {
            code for code, kind in world.catalog.invalid.items() if kind == "bad_ean_check_digit"
        }
        assert bad_ean and bad_ean <= rejects

        unchanged = sync_together(engine, [world.client_id], "incremental")[world.client_id]
        item = run_item(engine, world.client_id, unchanged.run_id or "")
        assert (item["records_processed"], item["retried_count"]) == (0, 0)  # not sent again

        with lenient_kong_mapping(engine, tmp_path):
            changed = sync_together(engine, [world.client_id], "incremental")[world.client_id]
            item = run_item(engine, world.client_id, changed.run_id or "")
            assert item["retried_count"] == len(rejects)
            again = {
                line["id"]
                for line in failed_lines(engine, world.client_id, changed.run_id or "")
                if line["stage"] == "mapping"
            }
            assert again == rejects - bad_ean  # the new mapping takes the bad EANs, not the rest
            held = world.held()
            assert all(held[code]["barcode"] is None for code in bad_ean)
            report = reconciled(engine, world)
            assert_reconciled(report)
    record_row(
        MatrixRow(
            group=GROUP,
            scenario="mapping rejects, then the mapping changes",
            product="kong",
            faults=f"{len(rejects)} records rejected; the mapping then drops bad EANs",
            status=f"partial; next run sends 0; after the change {len(bad_ean)} more load",
            in_scope=report.in_scope,
            loaded=report.loaded,
            reported=report.reported,
            lost=report.lost,
            duplicates=report.duplicates,
            order=101,
        )
    )


def test_replay_sends_a_runs_failed_records_through_the_current_mapping(
    engine: ReliabilityEngine,
) -> None:
    spec = kong_client("fw-replay", seed=33)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        first = sync_together(engine, [world.client_id])[world.client_id]
        run_id = first.run_id or ""
        negative = sorted(
            code for code, kind in world.catalog.invalid.items() if kind == "negative_quantity"
        )
        assert negative
        fixed = negative[0]
        world.catalog.modify([fixed], changes={"f_cantidad": "7"})  # fixed in the ERP

        result = CliRunner().invoke(
            app,
            [
                "replay",
                "--client",
                world.client_id,
                "--run",
                run_id,
                "--copy",
                "erp",  # the ERP fixed the record: its current copy, read by paging the listing
                "--json",
                "--endpoint-url",
                engine.aws.url,
            ],
        )
        assert result.exit_code == 3, result.output  # some records still fail
        document = json.loads(result.stdout)
        outcomes = {record["id"]: record for record in document["records"]}
        assert outcomes[fixed]["outcome"] == "loaded" and outcomes[fixed]["copy"] == "erp"
        assert document["copy"] == "erp" and document["erp_pages"] >= 1
        assert world.held()[fixed]["quantity"] == 7
        still = {key for key, record in outcomes.items() if record["outcome"] == "rejected"}
        assert still == set(outcomes) - {fixed}
        assert document["report_key"].startswith(f"runs/{world.client_id}/{run_id}/replays/")
        stored = json.loads(
            engine.deployment.run_store()
            .s3.get_object(Bucket=engine.deployment.bucket, Key=document["report_key"])["Body"]
            .read()
        )
        assert stored["passed"] == 1

        # a record a newer run loaded is left alone: an old copy must not undo a newer value
        later = sync_together(engine, [world.client_id], "incremental")[world.client_id]
        assert later.status == "success"
        again = replay(world.client_id, run_id, deployment=engine.deployment)
        assert {r.record_id: r.outcome for r in again.records}[fixed] == "superseded"
        assert [run["run_id"] for run in runs_of(engine, world.client_id)][-1] == run_id
