"""Adding clients, their schedule rules, bad input, undone writes, and a failing run, end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import ops
from runtime.errors import ClientNotFound

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from e2e_support import E2eEngine, kong_client, wms_client, worlds


def secret_names(engine: E2eEngine) -> set[str]:
    listed = engine.deployment.client("secretsmanager").list_secrets()["SecretList"]
    return {secret["Name"] for secret in listed}


def rule_names(engine: E2eEngine) -> set[str]:
    rules = engine.deployment.client("events").list_rules(NamePrefix="siesa-integration-")["Rules"]
    return {rule["Name"] for rule in rules}


def assert_nothing_of(engine: E2eEngine, client_id: str) -> None:
    with pytest.raises(ClientNotFound):
        engine.deployment.config_store().get(client_id)
    assert not any(
        name.startswith(f"siesa-integration/{client_id}/") for name in secret_names(engine)
    )
    assert ops.rule_name(client_id) not in rule_names(engine)


def test_each_client_gets_its_schedule_rule_with_the_workflow_as_target(
    engine: E2eEngine,
) -> None:
    with worlds(kong_client("ops-kong"), wms_client("ops-wms", split_services=True)) as running:
        engine.add(running["ops-kong"])
        engine.add(running["ops-wms"], enabled=False)
    events = engine.deployment.client("events")
    outputs = engine.provisioned.outputs
    for client_id, schedule, state in (
        ("ops-kong", "rate(6 hours)", "ENABLED"),
        ("ops-wms", "rate(4 hours)", "DISABLED"),
    ):
        name = f"siesa-integration-{client_id}-schedule"
        rule = events.describe_rule(Name=name)
        assert (rule["ScheduleExpression"], rule["State"]) == (schedule, state)
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"] == outputs["StateMachineArn"]
        assert target["RoleArn"] == outputs["EventBridgeRoleArn"]
        assert json.loads(target["Input"]) == {"client_id": client_id, "sync_type": "incremental"}
    stored = engine.deployment.config_store().get("ops-wms")
    assert (stored.enabled, stored.product_type) == (False, "wms")
    listed = ops.list_clients(deployment=engine.deployment)
    assert {view.client_id for view in listed.clients} >= {"ops-kong", "ops-wms"}


def test_enable_and_disable_switch_the_client_and_its_rule(engine: E2eEngine) -> None:
    with worlds(kong_client("ops-switch")) as running:
        engine.add(running["ops-switch"])
    view = ops.disable_client("ops-switch", deployment=engine.deployment)
    assert view.config.enabled is False
    assert view.schedule is not None and view.schedule.enabled is False
    with pytest.raises(ops.InputError, match="ops-switch is disabled"):
        ops.start_sync("ops-switch", deployment=engine.deployment)
    view = ops.enable_client("ops-switch", deployment=engine.deployment)
    assert view.config.enabled is True
    rule = engine.deployment.client("events").describe_rule(
        Name="siesa-integration-ops-switch-schedule"
    )
    assert rule["State"] == "ENABLED"


def test_a_client_cannot_be_added_twice(engine: E2eEngine) -> None:
    with worlds(kong_client("ops-twice")) as running:
        engine.add(running["ops-twice"])
        with pytest.raises(ops.InputError, match="client ops-twice already exists"):
            engine.add(running["ops-twice"])


def test_unknown_clients_are_named(engine: E2eEngine) -> None:
    for call in (ops.show_client, ops.enable_client, ops.start_sync):
        with pytest.raises(ops.UnknownClient, match="no client nadie"):
            call("nadie", deployment=engine.deployment)


BAD_INPUTS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], str]] = [
    ("bad config field", {"siesa_api_url": "ftp://erp"}, {}, {}, "field 'siesa_api_url'"),
    ("unknown product", {"product_type": "tms"}, {}, {}, "unknown product type 'tms'"),
    ("schedule plural", {"sync_schedule": "rate(1 hours)"}, {}, {}, "rate(1 hour)"),
    ("platform field", {"last_sync_status": "success"}, {}, {}, "written by the platform"),
    ("no such mapping", {"field_mappings_key": "cliente-z"}, {}, {}, "no mapping 'cliente-z'"),
    ("mapping of the other product", {"field_mappings_key": "wms"}, {}, {}, "is for product 'wms'"),
    ("siesa key missing", {}, {"api_key": None}, {}, "key 'api_key': missing"),
    ("product of another type", {}, {}, {"product_type": "wms"}, "key 'product_type' is 'wms'"),
    ("product key missing", {}, {}, {"api_key": None}, "key 'api_key': missing"),
    ("product url elsewhere", {}, {}, {"api_url": "https://x.kong.com/api"}, "differs"),
]


@pytest.mark.parametrize(
    ("config", "siesa", "product", "expected"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_writes_nothing_and_says_what_to_fix(
    engine: E2eEngine,
    config: dict[str, Any],
    siesa: dict[str, Any],
    product: dict[str, Any],
    expected: str,
) -> None:
    with worlds(kong_client("ops-bad")) as running:
        world = running["ops-bad"]
        documents = [
            {**world.config_document(), **config},
            {**world.siesa_credentials(), **siesa},
            {**world.product_credentials(), **product},
        ]
        for document in documents:
            for key in [key for key, value in document.items() if value is None]:
                del document[key]
        secrets_before = secret_names(engine)
        with pytest.raises(ops.InputError) as raised:
            ops.add_client(*documents, deployment=engine.deployment)
    message = str(raised.value)
    assert expected in message
    assert world.siesa_key not in message and world.product_key not in message
    assert secret_names(engine) == secrets_before
    assert_nothing_of(engine, "ops-bad")


def test_credentials_that_are_not_json_are_refused_without_echoing_them(
    engine: E2eEngine,
) -> None:
    with worlds(kong_client("ops-json")) as running:
        world = running["ops-json"]
        broken = json.dumps(world.product_credentials())[:-1]
        with pytest.raises(
            ops.InputError, match=r"product credentials is not valid JSON: .* line 1"
        ):
            ops.add_client(
                json.dumps(world.config_document()),
                json.dumps(world.siesa_credentials()),
                broken,
                deployment=engine.deployment,
            )
    assert_nothing_of(engine, "ops-json")


@pytest.mark.parametrize(
    ("service", "operation", "step"),
    [("events", "PutTargets", "schedule rule"), ("dynamodb", "PutItem", "client item")],
)
def test_a_write_that_fails_is_undone(
    engine: E2eEngine, service: str, operation: str, step: str
) -> None:
    deployment = ops.Deployment(engine.aws.url)

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalFailure", "Message": "injected"}}, operation)

    deployment.client(service).meta.events.register(f"before-call.{service}.{operation}", refuse)
    with worlds(wms_client("ops-undo")) as running, pytest.raises(ops.WriteFailed) as raised:
        world = running["ops-undo"]
        ops.add_client(
            world.config_document(),
            world.siesa_credentials(),
            world.product_credentials(),
            deployment=deployment,
        )
    message = str(raised.value)
    assert message.startswith(f"could not write the {step}")
    assert "of client ops-undo: InternalFailure: injected" in message
    assert "removed again: " in message and "secret siesa-integration/ops-undo/siesa" in message
    assert "could NOT" not in message
    assert_nothing_of(engine, "ops-undo")


def test_a_run_refused_by_the_product_alerts_and_ends_in_log_failure(engine: E2eEngine) -> None:
    engine.alerts()
    with worlds(kong_client("ops-401")) as running:
        world = running["ops-401"]
        engine.add(world)
        world.product.keys.revoke(world.product_key)  # Kong now answers 401
        outcome = engine.sync("ops-401")
    assert (outcome.status, outcome.execution_status, outcome.exit_code) == ("failed", "FAILED", 1)
    assert outcome.error == "ProductAuthError"
    assert outcome.summary is None
    entered = engine.states_entered(outcome.execution_arn)
    # the page's load failed, the Map state stopped, the stopped run's reports were gathered
    assert entered.index("MapPages") < entered.index("RunStopped") < entered.index("NotifyFailure")
    assert entered.index("NotifyFailure") < entered.index("LogFailure")
    assert entered[-1] == "SyncFailed" and "LogSuccess" not in entered
    stored = engine.deployment.config_store().get("ops-401")
    assert stored.last_sync_status == "failed"
    (run,) = ops.status("ops-401", deployment=engine.deployment).clients[0].runs
    assert run["status"] == "failed" and run["error"].startswith("ProductAuthError")
    (alert,) = [a for a in engine.alerts() if "ops-401" in a["Message"]]
    assert "ops-401" in alert["Subject"]
    assert "Error: ProductAuthError" in alert["Message"]
    body = json.dumps(alert)
    assert world.product_key not in body and world.siesa_key not in body
