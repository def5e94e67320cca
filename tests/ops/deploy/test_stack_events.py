"""Reading a failed stack's events the way AWS records them: the root cause first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ops.deploy.infra import load_template
from ops.deploy.stack import StackEvent, StackFailed, physical_names, root_causes


def _event(
    second: int, logical_id: str, kind: str, status: str, reason: str = ""
) -> dict[str, Any]:
    """One item of `describe_stack_events`, as AWS returns it."""
    event: dict[str, Any] = {
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/siesa/1",
        "EventId": f"{logical_id}-{status}-{second}",
        "StackName": "siesa",
        "LogicalResourceId": logical_id,
        "ResourceType": kind,
        "Timestamp": datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC),
        "ResourceStatus": status,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


# A first deploy where the bucket name is taken, oldest first (as the watcher keeps them).
FAILED_CREATE = [
    _event(0, "siesa", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
    _event(1, "ClientsTable", "AWS::DynamoDB::Table", "CREATE_IN_PROGRESS"),
    _event(2, "ConfigBucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
    _event(
        3,
        "ConfigBucket",
        "AWS::S3::Bucket",
        "CREATE_FAILED",
        "siesa-integration-config already exists",
    ),
    _event(
        4, "ClientsTable", "AWS::DynamoDB::Table", "CREATE_FAILED", "Resource creation cancelled"
    ),
    _event(
        5,
        "siesa",
        "AWS::CloudFormation::Stack",
        "ROLLBACK_IN_PROGRESS",
        "The following resource(s) failed to create: [ClientsTable, ConfigBucket]. Rollback requested by user.",
    ),
    _event(6, "ClientsTable", "AWS::DynamoDB::Table", "DELETE_COMPLETE"),
    _event(7, "siesa", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
]


def test_the_resource_that_failed_comes_before_the_ones_it_cancelled() -> None:
    causes = root_causes(StackEvent.of(event) for event in FAILED_CREATE)
    assert [event.logical_id for event in causes] == ["ConfigBucket", "ClientsTable"]
    assert causes[0].describe() == (
        "ConfigBucket (AWS::S3::Bucket) CREATE_FAILED: siesa-integration-config already exists"
    )


def test_the_failure_message_names_stack_status_resource_and_reason() -> None:
    failure = StackFailed(
        "siesa", "ROLLBACK_COMPLETE", root_causes(map(StackEvent.of, FAILED_CREATE))
    )
    message = str(failure)
    assert message.startswith(
        "stack siesa failed (ROLLBACK_COMPLETE): ConfigBucket (AWS::S3::Bucket)"
    )
    assert "already exists" in message


def test_a_stack_level_failure_is_reported_when_no_resource_failed() -> None:
    events = [
        _event(0, "siesa", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS"),
        _event(
            1,
            "siesa",
            "AWS::CloudFormation::Stack",
            "UPDATE_FAILED",
            "Template error: bad Fn::GetAtt",
        ),
        _event(2, "siesa", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE"),
    ]
    causes = root_causes(map(StackEvent.of, events))
    assert [event.reason for event in causes] == ["Template error: bad Fn::GetAtt"]


def test_a_failed_update_with_no_events_still_says_where_to_look() -> None:
    assert "see the stack's events" in str(StackFailed("siesa", "UPDATE_ROLLBACK_COMPLETE", []))


def test_physical_names_resolve_literals_and_parameter_references() -> None:
    names = physical_names(load_template(), {"ConfigBucketName": "siesa-integration-other"})
    assert names["siesa-integration-other"] == "ConfigBucket"
    assert names["siesa-integration-clients"] == "ClientsTable"
    assert names["siesa-integration-loader"] == "LoaderFunction"
    assert names["alias/siesa-integration-logs"] == "LogsKeyAlias"
