"""Helpers of the end-to-end tests: the embedded AWS with the real handlers, and client worlds.

Everything is real: moto's server executing infra/statemachine.asl.json, the
runtime's handlers, the compiled mappings of mappings/, and the loopback
simulators of Siesa, Kong and WMS.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ops
from local.demo_world import ClientWorld, DemoClient, running_world
from local.embedded_aws import LocalAws
from local.provision import ProvisionResult
from runtime import aws as aws_clients
from runtime import mapping_loader, secrets

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from alert_queue import drain_queue

SYNC_DEADLINE_SECONDS = 120.0  # a guard against a hung execution, not a speed check


def reset_runtime_caches() -> None:
    """Forget per-process caches (secrets, mapping modules, boto3 clients) between engines."""
    secrets.clear_cache()
    mapping_loader.clear_cache()
    aws_clients.reset_clients()


@dataclass
class E2eEngine:
    """The embedded AWS, provisioned from infra/, and an SQS queue on the alerts topic."""

    aws: LocalAws
    provisioned: ProvisionResult
    deployment: ops.Deployment
    alerts_queue_url: str

    def alerts(self) -> list[dict[str, Any]]:
        """SNS notifications published to the alerts topic since the last call."""
        return drain_queue(self.deployment.client("sqs"), self.alerts_queue_url)

    def add(self, world: ClientWorld, **config: Any) -> ops.ClientView:
        """Register a world's client through the operator library."""
        return ops.add_client(
            {**world.config_document(), **config},
            world.siesa_credentials(),
            world.product_credentials(),
            deployment=self.deployment,
        )

    def sync(self, client_id: str, sync_type: str = "initial") -> ops.SyncOutcome:
        """Start a sync and follow it to its end."""
        started = ops.start_sync(client_id, sync_type, deployment=self.deployment)
        return ops.wait(
            started,
            deployment=self.deployment,
            poll_seconds=0.2,
            timeout_seconds=SYNC_DEADLINE_SECONDS,
        )

    def states_entered(self, execution_arn: str) -> list[str]:
        """Names of the states an execution entered, in order."""
        history = self.deployment.client("stepfunctions").get_execution_history(
            executionArn=execution_arn
        )
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in history["events"]
            if event["type"].endswith("StateEntered")
        ]


@contextmanager
def worlds(*specs: DemoClient, products: int = 60) -> Iterator[dict[str, ClientWorld]]:
    """Simulated ERPs and products for these clients, stopped at the end."""
    with running_world(specs, products) as running:
        yield running


def kong_client(client_id: str, seed: int = 11, **options: Any) -> DemoClient:
    """A Kong client of the tests."""
    return DemoClient(client_id, f"Empresa {client_id}", "kong", seed, "rate(6 hours)", **options)


def wms_client(client_id: str, seed: int = 12, **options: Any) -> DemoClient:
    """A WMS client of the tests."""
    return DemoClient(client_id, f"Empresa {client_id}", "wms", seed, "rate(4 hours)", **options)
