"""Each client's EventBridge schedule rules (design document §7).

`siesa-integration-{client_id}-schedule` runs the workflow on the client's
`sync_schedule` with the input `{"client_id": ..., "sync_type": "incremental"}`,
as the stack's EventBridge role. A client with a `stock_schedule` has a second
rule, `siesa-integration-{client_id}-stock`, whose input asks for a stock-only
sync (`"sync_type": "stock"`). Both rules' state follows the client's
`enabled` flag. Every function takes `stock=True` for the second rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ops.deployment import Deployment, describe_client_error, error_code
from ops.errors import OpsError
from ops.validation import rule_name

TARGET_ID = "siesa-integration-workflow"
STOCK_SYNC_TYPE = "stock"
"""The sync type of the stock-only rule's input (the runtime's stock-only sync, issue 13)."""


@dataclass(frozen=True)
class Schedule:
    """A client's rule as EventBridge holds it."""

    rule_name: str
    expression: str | None
    enabled: bool
    target_arn: str | None
    role_arn: str | None
    input: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "rule_name": self.rule_name,
            "schedule": self.expression,
            "state": "ENABLED" if self.enabled else "DISABLED",
            "target_arn": self.target_arn,
            "role_arn": self.role_arn,
            "input": self.input,
        }


def rule_sync_type(*, stock: bool) -> str:
    """The sync type a rule starts: stock-only, or incremental."""
    return STOCK_SYNC_TYPE if stock else "incremental"


def target_input(client_id: str, *, stock: bool = False) -> str:
    """What the rule hands the workflow: an incremental (or stock-only) sync of the client."""
    return json.dumps({"client_id": client_id, "sync_type": rule_sync_type(stock=stock)})


def rule_exists(deployment: Deployment, client_id: str, *, stock: bool = False) -> bool:
    """Whether the client's rule exists."""
    try:
        deployment.client("events").describe_rule(Name=rule_name(client_id, stock=stock))
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


def put_schedule(
    deployment: Deployment, client_id: str, expression: str, *, enabled: bool, stock: bool = False
) -> None:
    """Create (or update) the rule and its one target (the workflow, run as the EventBridge role)."""
    events = deployment.client("events")
    name = rule_name(client_id, stock=stock)
    kind = "Stock-only" if stock else "Incremental"
    events.put_rule(
        Name=name,
        ScheduleExpression=expression,
        State="ENABLED" if enabled else "DISABLED",
        Description=f"{kind} Siesa sync of {client_id}",
    )
    response = events.put_targets(
        Rule=name,
        Targets=[
            {
                "Id": TARGET_ID,
                "Arn": deployment.state_machine_arn,
                "RoleArn": deployment.eventbridge_role_arn,
                "Input": target_input(client_id, stock=stock),
            }
        ],
    )
    failed = response.get("FailedEntries") or []
    if response.get("FailedEntryCount") or failed:
        reason = failed[0].get("ErrorMessage", "no reason given") if failed else "no reason given"
        raise OpsError(f"EventBridge refused the target of {name}: {reason}")


def delete_schedule(deployment: Deployment, client_id: str, *, stock: bool = False) -> bool:
    """Remove the rule and its targets; False when there was no rule."""
    events = deployment.client("events")
    name = rule_name(client_id, stock=stock)
    try:
        targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
        if targets:
            events.remove_targets(Rule=name, Ids=[target["Id"] for target in targets])
        events.delete_rule(Name=name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return False
    return True


def set_schedule_enabled(
    deployment: Deployment, client_id: str, enabled: bool, *, stock: bool = False
) -> bool:
    """Enable or disable the rule; False when the client has no rule."""
    events = deployment.client("events")
    name = rule_name(client_id, stock=stock)
    try:
        if enabled:
            events.enable_rule(Name=name)
        else:
            events.disable_rule(Name=name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise OpsError(
            f"EventBridge refused to change {name}: {describe_client_error(exc)}"
        ) from None
    return True


def get_schedule(deployment: Deployment, client_id: str, *, stock: bool = False) -> Schedule | None:
    """The client's rule and target, or None when there is no rule."""
    events = deployment.client("events")
    name = rule_name(client_id, stock=stock)
    try:
        rule = events.describe_rule(Name=name)
        targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    target = next((item for item in targets if item.get("Id") == TARGET_ID), None)
    if target is None and targets:
        target = targets[0]
    parsed: dict[str, Any] | None = None
    if target is not None and target.get("Input"):
        try:
            loaded = json.loads(target["Input"])
            parsed = loaded if isinstance(loaded, dict) else None
        except ValueError:
            parsed = None
    return Schedule(
        rule_name=name,
        expression=rule.get("ScheduleExpression"),
        enabled=rule.get("State") == "ENABLED",
        target_arn=target.get("Arn") if target else None,
        role_arn=target.get("RoleArn") if target else None,
        input=parsed,
    )
