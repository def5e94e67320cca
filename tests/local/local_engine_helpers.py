"""Helpers of the local-engine tests: scripted Lambda handlers and a workflow driver.

`Scripted` handlers are test doubles of OUR Lambda code that follow the event
shapes of docs/architecture.md and can raise the runtime's own errors; AWS
itself is always moto. `Engine` drives the provisioned workflow.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.embedded_aws import LocalAws
from local.provision import ProvisionResult

E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
if str(E2E_DIR) not in sys.path:
    sys.path.insert(0, str(E2E_DIR))
from alert_queue import drain_queue  # noqa: E402

EXTRACTOR = "siesa-integration-extractor"
TRANSFORMER = "siesa-integration-transformer"
LOADER = "siesa-integration-loader"
EXECUTION_DEADLINE_SECONDS = 90  # a guard against a hung execution, not a speed check

Behaviour = Callable[[dict[str, Any], int], Any]


def extracted(event: dict[str, Any]) -> dict[str, Any]:
    """Extractor output for `event` (docs/architecture.md)."""
    run_id = event.get("run_id") or "20250115T100000Z-3f9a1c"
    client_id = event["client_id"]
    return {
        "client_id": client_id,
        "product_type": "kong",
        "sync_type": event.get("sync_type", "incremental"),
        "run_id": run_id,
        "bucket": "siesa-integration-config",
        "extracted_pages": [f"runs/{client_id}/{run_id}/extracted/page-00001.ndjson"],
        "count": 3,
        "extraction_timestamp": "2025-01-15T10:00:00Z",
        "watermark": "2025-01-15T05:00:00-05:00",
        "page_count": 1,
        "page_concurrency": 1,
        "inline_max_pages": 40,
    }


def per_page(
    extractor_output: dict[str, Any], mode: str, page_key: str | None = None
) -> dict[str, Any]:
    """What the workflow hands the transformer (mode page, retried) or the loader (finish) after
    the extractor's output: its fields, the mode, no page list (infra/statemachine.asl.json)."""
    event = {**extractor_output, "mode": mode, "extracted_pages": []}
    if page_key is not None:
        event["page_key"] = page_key
    return event


def transformed(event: dict[str, Any]) -> dict[str, Any]:
    """Transformer output: the extractor's plus canonical pages and validation counts."""
    prefix = f"runs/{event['client_id']}/{event['run_id']}"
    return {
        **event,
        "canonical_pages": [f"{prefix}/canonical/page-00001.ndjson"],
        "count": 3,
        "rejected_count": 0,
        "transformation_timestamp": "2025-01-15T10:01:00Z",
        "validation_errors": {
            "count": 0,
            "warnings": 0,
            "by_field": {},
            "report_key": f"{prefix}/validation-report.ndjson",
        },
    }


def summary(
    event: dict[str, Any],
    status: str = "success",
    failed: int = 0,
    alert: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The loader summary for `event` (`alert`: its failed-records alert, else none)."""
    processed = event["count"]
    return {
        "client_id": event["client_id"],
        "product_type": event["product_type"],
        "status": status,
        "records_processed": processed,
        "records_success": processed - failed,
        "records_failed": failed,
        "failed_records": [],
        "load_timestamp": "2025-01-15T10:05:00Z",
        "duration_seconds": 4,
        "run_id": event["run_id"],
        "sync_type": event["sync_type"],
        "failed_records_key": f"runs/{event['client_id']}/{event['run_id']}/failed-records.ndjson",
        "failed_share_percent": round(100 * failed / processed, 2) if processed else 0.0,
        "failed_records_alert": alert,
    }


@dataclass
class Scripted:
    """One function's test double: records each event, then acts per attempt number."""

    name: str
    default: Behaviour
    behaviour: Behaviour | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self.lock:
            self.events.append(event)
            attempt = len(self.events)
        return (self.behaviour or self.default)(event, attempt)

    def reset(self) -> None:
        with self.lock:
            self.events.clear()
            self.behaviour = None


@dataclass
class Engine:
    """The provisioned embedded AWS and helpers to drive the workflow."""

    aws: LocalAws
    result: ProvisionResult
    extractor: Scripted
    transformer: Scripted
    loader: Scripted
    alerts_queue_url: str

    def add_client(self, client_id: str, **attributes: str) -> None:
        """A minimal clients-table item (the workflow only needs the key to exist)."""
        item = {
            "client_id": {"S": client_id},
            "enabled_flag": {"S": "true"},
            "product_type": {"S": "kong"},
        }
        item.update({name: {"S": value} for name, value in attributes.items()})
        self.aws.client("dynamodb").put_item(
            TableName=self.result.outputs["ClientsTableName"], Item=item
        )

    def client_item(self, client_id: str) -> dict[str, Any] | None:
        item = self.aws.client("dynamodb").get_item(
            TableName=self.result.outputs["ClientsTableName"], Key={"client_id": {"S": client_id}}
        )
        found: dict[str, Any] | None = item.get("Item")
        return found

    def run(self, execution_input: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        """Start an execution and wait for it to finish; returns describe_execution."""
        stepfunctions = self.aws.client("stepfunctions")
        started = stepfunctions.start_execution(
            stateMachineArn=self.result.state_machine_arn,
            name=name or f"test-{uuid.uuid4()}",
            input=json.dumps(execution_input),
        )
        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
        while True:
            described: dict[str, Any] = stepfunctions.describe_execution(
                executionArn=started["executionArn"]
            )
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise AssertionError(f"execution still running: {started['executionArn']}")
            time.sleep(0.05)

    def visited(self, execution_arn: str) -> list[str]:
        """Names of the states the execution entered, in order."""
        events = self.aws.client("stepfunctions").get_execution_history(
            executionArn=execution_arn, maxResults=1000
        )["events"]
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in events
            if "stateEnteredEventDetails" in event
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """SNS notifications published to the alerts topic since the last call."""
        return drain_queue(self.aws.client("sqs"), self.alerts_queue_url)
