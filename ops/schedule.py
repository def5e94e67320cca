"""Each client's EventBridge schedule rule (design document §7).

`siesa-integration-{client_id}-schedule` runs the workflow on the client's
`sync_schedule` with the input `{"client_id": ..., "sync_type": "incremental"}`,
as the stack's EventBridge role. The rule's state follows the client's
`enabled` flag.
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


def target_input(client_id: str) -> str:
    """What the rule hands the workflow: an incremental sync of the client."""
    return json.dumps({"client_id": client_id, "sync_type": "incremental"})


def rule_exists(deployment: Deployment, client_id: str) -> bool:
    """Whether the client's rule exists."""
    try:
        deployment.client("events").describe_rule(Name=rule_name(client_id))
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


def put_schedule(deployment: Deployment, client_id: str, expression: str, *, enabled: bool) -> None:
    """Create the rule and its one target (the workflow, run as the EventBridge role)."""
    events = deployment.client("events")
    name = rule_name(client_id)
    events.put_rule(
        Name=name,
        ScheduleExpression=expression,
        State="ENABLED" if enabled else "DISABLED",
        Description=f"Incremental Siesa sync of {client_id}",
    )
    response = events.put_targets(
        Rule=name,
        Targets=[
            {
                "Id": TARGET_ID,
                "Arn": deployment.state_machine_arn,
                "RoleArn": deployment.eventbridge_role_arn,
                "Input": target_input(client_id),
            }
        ],
    )
    failed = response.get("FailedEntries") or []
    if response.get("FailedEntryCount") or failed:
        reason = failed[0].get("ErrorMessage", "no reason given") if failed else "no reason given"
        raise OpsError(f"EventBridge refused the target of {name}: {reason}")


def delete_schedule(deployment: Deployment, client_id: str) -> None:
    """Remove the rule and its targets (nothing to do when it is gone)."""
    events = deployment.client("events")
    name = rule_name(client_id)
    try:
        targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
        if targets:
            events.remove_targets(Rule=name, Ids=[target["Id"] for target in targets])
        events.delete_rule(Name=name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise


def set_schedule_enabled(deployment: Deployment, client_id: str, enabled: bool) -> bool:
    """Enable or disable the rule; False when the client has no rule."""
    events = deployment.client("events")
    name = rule_name(client_id)
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


def get_schedule(deployment: Deployment, client_id: str) -> Schedule | None:
    """The client's rule and target, or None when there is no rule."""
    events = deployment.client("events")
    name = rule_name(client_id)
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
