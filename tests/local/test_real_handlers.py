"""The workflow on the embedded AWS with the real handlers, the compiled mappings and the simulators."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.embedded_aws import LocalAws
from local.provision import ProvisionResult, provision
from local.sim import KongSim, SiesaSim, SimServer, generate_catalog
from local.sim.faults import FaultInjector
from runtime import secrets
from runtime.config import ClientConfig
from runtime.config_store import ConfigStore
from runtime.runstore import new_run_id

SIESA_KEY = "siesa-canary-5b1e0f9d2c"
KONG_KEY = "kong-canary-8a4c7e3f10"


@dataclass
class World:
    aws: LocalAws
    result: ProvisionResult
    siesa_url: str


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    siesa = SiesaSim(generate_catalog(120, seed=7), api_keys=SIESA_KEY)
    with LocalAws() as aws, SimServer(siesa.wsgi_app) as siesa_server:
        yield World(aws, provision(aws), f"{siesa_server.url}/api/v1")


def _add_client(world: World, client_id: str, kong_url: str) -> None:
    config = ClientConfig(
        client_id=client_id,
        client_name=f"Empresa {client_id}",
        product_type="kong",
        siesa_api_url=world.siesa_url,
        product_api_url=kong_url,
    )
    ConfigStore().put(config)
    manager = world.aws.client("secretsmanager")
    manager.create_secret(
        Name=config.siesa_credentials_secret, SecretString=json.dumps({"api_key": SIESA_KEY})
    )
    manager.create_secret(
        Name=config.product_credentials_secret,
        SecretString=json.dumps({"product_type": "kong", "api_url": kong_url, "api_key": KONG_KEY}),
    )
    secrets.clear_cache()


def _run(world: World, client_id: str) -> dict[str, Any]:
    run_id = new_run_id()
    stepfunctions = world.aws.client("stepfunctions")
    started = stepfunctions.start_execution(
        stateMachineArn=world.result.state_machine_arn,
        name=run_id,
        input=json.dumps({"client_id": client_id, "sync_type": "initial", "run_id": run_id}),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        described: dict[str, Any] = stepfunctions.describe_execution(
            executionArn=started["executionArn"]
        )
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    raise AssertionError("execution did not finish")


def test_an_initial_sync_loads_the_catalog_into_kong(world: World) -> None:
    kong = KongSim(api_keys=KONG_KEY)
    with SimServer(kong.wsgi_app) as kong_server:
        _add_client(world, "cliente-a", f"{kong_server.url}/api/v1")
        described = _run(world, "cliente-a")

    assert described["status"] == "SUCCEEDED", described.get("cause")
    summary = json.loads(described["output"])
    assert summary["client_id"] == "cliente-a"
    assert summary["run_id"] == described["name"]
    assert summary["records_processed"] == 120
    assert summary["status"] in ("success", "partial")
    assert len(kong.products()) == summary["records_success"] > 100
    item = ConfigStore().get("cliente-a")
    assert item.last_sync_status == summary["status"]
    assert item.last_sync_records == summary["records_success"]


def test_a_refused_product_key_alerts_names_the_client_and_leaks_no_secret(world: World) -> None:
    kong = KongSim(api_keys=KONG_KEY, faults=FaultInjector(revoke_from_request=1))
    sqs = world.aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="alerts-real-handlers")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    world.aws.client("sns").subscribe(
        TopicArn=world.result.outputs["AlertsTopicArn"], Protocol="sqs", Endpoint=queue_arn
    )
    with SimServer(kong.wsgi_app) as kong_server:
        _add_client(world, "cliente-b", f"{kong_server.url}/api/v1")
        described = _run(world, "cliente-b")

    assert described["status"] == "FAILED"
    assert described["error"] == "ProductAuthError"
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    alert = json.loads(messages[0]["Body"])
    assert "client cliente-b" in alert["Message"]
    assert "Error: ProductAuthError" in alert["Message"]
    history = world.aws.client("stepfunctions").get_execution_history(
        executionArn=described["executionArn"], maxResults=1000
    )
    everything = json.dumps([alert, described, history["events"]], default=str)
    assert SIESA_KEY not in everything
    assert KONG_KEY not in everything
    assert ConfigStore().get("cliente-b").last_sync_status == "failed"
