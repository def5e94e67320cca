"""Bad input everywhere: a clear error naming the problem, and nothing half-written.

Registering a client with bad documents writes nothing (tests/e2e/test_operations.py
covers every field; here, a deployment whose mapping bundle is missing). At
run time a client registered well can still meet bad input: its table item
edited into an invalid config or an unknown product type, a secret replaced
by text that is not JSON or lacks a key, ERP records with wrong types, the
mapping bundle gone from S3. Each run must fail (or, for bad records, report
them) with an error that names the problem and never a secret value, and
leave nothing half-written: the watermark where it was, the product as it
was, no pages of a stage that did not run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_support import kong_client, worlds
from harness import ReliabilityEngine, bundle_prefix
from matrix import MatrixRow, record_row
from scenario import alerts_for, assert_reconciled, reconciled, sync_together, watermark

import ops
from local.demo_world import ClientWorld

RECORDS = 60
GROUP = "Bad input"


def put_secret(engine: ReliabilityEngine, name: str, text: str) -> None:
    engine.deployment.client("secretsmanager").put_secret_value(SecretId=name, SecretString=text)


def edit_item(engine: ReliabilityEngine, client_id: str, **values: str) -> None:
    """Change the clients-table item behind the platform's back (as a hand edit would)."""
    table = engine.provisioned.outputs["ClientsTableName"]
    engine.deployment.client("dynamodb").update_item(
        TableName=table,
        Key={"client_id": {"S": client_id}},
        UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(values))),
        ExpressionAttributeNames={f"#k{i}": key for i, key in enumerate(values)},
        ExpressionAttributeValues={
            f":v{i}": {"S": value} for i, value in enumerate(values.values())
        },
    )


@contextmanager
def bundle_removed(engine: ReliabilityEngine) -> Iterator[None]:
    """The mapping bundle's manifest gone from S3 for the block."""
    s3, bucket = engine.deployment.client("s3"), engine.deployment.bucket
    key = bundle_prefix(engine) + "signed-manifest.json"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.delete_object(Bucket=bucket, Key=key)
    try:
        yield
    finally:
        s3.put_object(Bucket=bucket, Key=key, Body=body)


Break = Callable[[ReliabilityEngine, ClientWorld], Any]


@dataclass(frozen=True)
class BadInput:
    name: str
    error: str
    names: str
    stage_reached: str
    apply: Break


def _invalid_config(engine: ReliabilityEngine, world: ClientWorld) -> None:
    edit_item(engine, world.client_id, product_api_url="ftp://products.example.com")


def _unknown_product(engine: ReliabilityEngine, world: ClientWorld) -> None:
    edit_item(engine, world.client_id, product_type="tms")


def _siesa_not_json(engine: ReliabilityEngine, world: ClientWorld) -> None:
    put_secret(
        engine,
        f"siesa-integration/{world.client_id}/siesa",
        '{"api_key": "' + world.siesa_key + '",',
    )


def _product_key_missing(engine: ReliabilityEngine, world: ClientWorld) -> None:
    document = {k: v for k, v in world.product_credentials().items() if k != "api_key"}
    put_secret(engine, f"siesa-integration/{world.client_id}/kong", json.dumps(document))


CASES = [
    BadInput(
        "client config edited invalid",
        "InvalidClientConfig",
        "field 'product_api_url': must be an https URL",
        "none",
        _invalid_config,
    ),
    BadInput(
        "unknown product type",
        "InvalidClientConfig",
        "unknown product type 'tms'",
        "none",
        _unknown_product,
    ),
    BadInput(
        "Siesa secret not JSON",
        "InvalidSecret",
        "secret 'siesa-integration/bi-siesa-not-json/siesa' is not valid JSON",
        "extract",
        _siesa_not_json,
    ),
    BadInput(
        "product secret missing a key",
        "InvalidSecret",
        "secret 'siesa-integration/bi-product-secret-missing/kong': key 'api_key': missing",
        "load",
        _product_key_missing,
    ),
]


def _run_keys(engine: ReliabilityEngine, client_id: str, run_id: str) -> set[str]:
    """The run's data, relative to its prefix."""
    listed = engine.deployment.client("s3").list_objects_v2(
        Bucket=engine.deployment.bucket, Prefix=f"runs/{client_id}/{run_id}/"
    )
    return {item["Key"].split(f"{run_id}/", 1)[1] for item in listed.get("Contents", [])}


def _client_keys(engine: ReliabilityEngine, client_id: str) -> set[str]:
    """Every object of the client's run data."""
    listed = engine.deployment.client("s3").list_objects_v2(
        Bucket=engine.deployment.bucket, Prefix=f"runs/{client_id}/"
    )
    return {item["Key"] for item in listed.get("Contents", [])}


def scheduled_run(engine: ReliabilityEngine, client_id: str) -> ops.SyncOutcome:
    """Start the workflow as the client's EventBridge rule does (no checks before it), and wait."""
    started = engine.deployment.client("stepfunctions").start_execution(
        stateMachineArn=engine.provisioned.state_machine_arn,
        name=f"{client_id}-scheduled-{uuid.uuid4().hex[:8]}",
        input=json.dumps({"client_id": client_id, "sync_type": "incremental"}),
    )
    return ops.wait(
        started["executionArn"], deployment=engine.deployment, poll_seconds=0.1, timeout_seconds=120
    )


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_at_run_time_fails_clearly_and_writes_nothing_half(
    engine: ReliabilityEngine, case: BadInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRETS_TTL_SECONDS", "0")  # a changed secret counts at once
    client_id = {
        "client config edited invalid": "bi-config",
        "unknown product type": "bi-product-type",
        "Siesa secret not JSON": "bi-siesa-not-json",
        "product secret missing a key": "bi-product-secret-missing",
    }[case.name]
    engine.alerts()
    with worlds(kong_client(client_id, seed=71), products=RECORDS) as running:
        world = running[client_id]
        engine.add(world)
        sync_together(engine, [client_id])
        before, held = watermark(engine, client_id), world.held()
        world.catalog.modify(world.catalog.ids()[:10])
        keys_before = _client_keys(engine, client_id)
        case.apply(engine, world)

        if case.stage_reached == "none":
            # the operator's command refuses at once, naming the field
            with pytest.raises(ops.InputError) as refused:
                ops.start_sync(client_id, deployment=engine.deployment)
            assert case.names in str(refused.value)
        outcome = scheduled_run(engine, client_id)

        assert (outcome.status, outcome.error) == ("failed", case.error)
        assert case.names in (outcome.cause or "")
        (alert,) = alerts_for(engine.alerts(), client_id)
        assert f"Error: {case.error}" in alert["Message"] and case.names in alert["Message"]
        for text in (alert["Message"], outcome.cause or ""):
            assert world.siesa_key not in text and world.product_key not in text
        assert world.held() == held  # the product was not touched
        item = engine.deployment.client("dynamodb").get_item(
            TableName=engine.provisioned.outputs["ClientsTableName"],
            Key={"client_id": {"S": client_id}},
        )["Item"]
        assert item.get("last_sync_watermark", {}).get("S") == before
        written = _client_keys(engine, client_id) - keys_before
        if case.stage_reached in ("none", "extract"):
            assert written == set()  # the run wrote no data at all
        else:  # extracted and mapped, then stopped before the product: a report, no summary
            assert written, "the stopped run left no report"
            prefix = f"runs/{client_id}/{outcome.run_id}/"
            assert all(key.startswith(prefix) for key in written)
            assert prefix + "failed-records.ndjson" in written
            assert prefix + "summary.json" not in written


def test_erp_records_with_wrong_types_are_reported_with_their_id_and_reason(
    engine: ReliabilityEngine,
) -> None:
    client_id = "bi-wrong-types"
    with worlds(kong_client(client_id, seed=72), products=RECORDS) as running:
        world = running[client_id]
        engine.add(world)
        base = world.catalog.records()[0]
        wrong = {
            "WRONG00001": {"f_cantidad": "muchos"},
            "WRONG00002": {"f_cantidad": [3]},
            "WRONG00003": {"f_nombre": {"es": "Camisa"}},
            "WRONG00004": {"f_ean": 7702004003508.5},
            "WRONG00005": {"f_cantidad": True},
        }
        for code, change in wrong.items():
            world.catalog.put(
                {**base, "f_codigo": code, "f_codigo_externo": f"SIESA-{code}", **change}
            )
        outcome = sync_together(engine, [client_id])[client_id]
        assert outcome.status == "partial"
        shown = {entry["id"]: entry for entry in (outcome.summary or {})["failed_records"]}
        for code in wrong:
            assert shown[code]["stage"] == "mapping" and shown[code]["error"], code
        assert set(wrong).isdisjoint(world.held())
        report = reconciled(engine, world)
        assert_reconciled(report)
    record_row(
        MatrixRow(
            group=GROUP,
            scenario="ERP records with wrong types",
            product="kong",
            faults="5 records: text, list, object, fraction, boolean where the mapping wants other types",
            status=f"partial ({len(shown)} rejected by the mapping, with reasons)",
            in_scope=report.in_scope,
            loaded=report.loaded,
            reported=report.reported,
            lost=report.lost,
            duplicates=report.duplicates,
            order=400,
        )
    )


def test_a_missing_mapping_bundle_stops_the_run_and_a_new_client(
    engine: ReliabilityEngine,
) -> None:
    client_id = "bi-no-bundle"
    engine.alerts()
    with worlds(kong_client(client_id, seed=73), products=RECORDS) as running:
        world = running[client_id]
        engine.add(world)
        sync_together(engine, [client_id])
        before, held = watermark(engine, client_id), world.held()
        with bundle_removed(engine):
            outcome = sync_together(engine, [client_id], "incremental")[client_id]
            assert (outcome.status, outcome.error) == ("failed", "MappingBundleError")
            assert "/signed-manifest.json is missing" in (outcome.cause or "")
            (alert,) = alerts_for(engine.alerts(), client_id)
            assert "MappingBundleError" in alert["Message"]
            assert watermark(engine, client_id) == before and world.held() == held
            assert not any(
                key.startswith("canonical/")
                for key in _run_keys(engine, client_id, outcome.run_id or "")
            )
            with worlds(kong_client("bi-no-bundle-new", seed=74), products=5) as fresh:
                new = fresh["bi-no-bundle-new"]
                with pytest.raises(ops.DeploymentError, match=r"manifest\.json is missing"):
                    engine.add(new)
                with pytest.raises(ops.UnknownClient):
                    ops.show_client(new.client_id, deployment=engine.deployment)
                names = {
                    secret["Name"]
                    for secret in engine.deployment.client("secretsmanager").list_secrets()[
                        "SecretList"
                    ]
                }
                assert not any(
                    name.startswith("siesa-integration/bi-no-bundle-new/") for name in names
                )
