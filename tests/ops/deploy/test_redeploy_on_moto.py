"""Deploying again onto the embedded AWS: no-op redeploys, updates, named failures, recovery."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from local.embedded_aws import LocalAws
from ops.deploy.build import Build
from ops.deploy.deploy import DeployRequest, deploy
from ops.deploy.reprozip import Artefact, Entry, write_zip
from ops.deploy.stack import StackFailed
from ops.deployment import Deployment
from ops.errors import DeploymentError

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from deploy_support import CONFIG, STACK, code_sha256, deploy_onto


def test_a_second_deploy_with_nothing_changed_is_a_no_op(local_aws: LocalAws, built: Build) -> None:
    deploy_onto(local_aws, built)
    cloudformation = local_aws.client("cloudformation")
    s3 = local_aws.client("s3")
    events_before = cloudformation.describe_stack_events(StackName=STACK)["StackEvents"]
    versions_before = s3.list_object_versions(Bucket=CONFIG)["Versions"]
    again = deploy_onto(local_aws, built)
    assert again.stack.outcome == "unchanged"
    assert not again.changed
    assert not [
        upload for upload in again.artefact_uploads + again.bundle_uploads if upload.written
    ]
    assert cloudformation.describe_stack_events(StackName=STACK)["StackEvents"] == events_before
    assert s3.list_object_versions(Bucket=CONFIG)["Versions"] == versions_before
    pending = cloudformation.list_change_sets(StackName=STACK)["Summaries"]
    assert not [item for item in pending if item["ExecutionStatus"] != "EXECUTE_COMPLETE"]


def test_a_changed_parameter_updates_and_is_kept_by_the_next_deploy(
    local_aws: LocalAws, built: Build
) -> None:
    deploy_onto(local_aws, built)
    updated = deploy_onto(
        local_aws, built, alert_email="ops@example.com", parameters={"LogLevel": "DEBUG"}
    )
    assert updated.stack.outcome == "updated"
    stack = local_aws.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    recorded = {item["ParameterKey"]: item["ParameterValue"] for item in stack["Parameters"]}
    assert (recorded["AlertEmail"], recorded["LogLevel"]) == ("ops@example.com", "DEBUG")
    config = local_aws.client("lambda").get_function(FunctionName="siesa-integration-loader")[
        "Configuration"
    ]
    assert config["Environment"]["Variables"]["LOG_LEVEL"] == "DEBUG"
    # leaving the options out later keeps their values, and changes nothing
    again = deploy_onto(local_aws, built)
    assert again.stack.outcome == "unchanged"
    assert (again.parameters["AlertEmail"], again.parameters["LogLevel"]) == (
        "ops@example.com",
        "DEBUG",
    )


def test_a_prod_deploy_keeps_logs_thirty_days(local_aws: LocalAws, built: Build) -> None:
    # (moto's CloudFormation creates no AWS::SNS::Subscription, so the email is checked as a parameter)
    report = deploy_onto(local_aws, built, environment="prod", alert_email="ops@example.com")
    assert report.parameters["Environment"] == "prod"
    assert report.parameters["AlertEmail"] == "ops@example.com"
    groups = local_aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/")["logGroups"]
    assert {group["retentionInDays"] for group in groups} == {30}
    config = local_aws.client("lambda").get_function(FunctionName="siesa-integration-loader")[
        "Configuration"
    ]
    assert config["Environment"]["Variables"]["ENVIRONMENT"] == "prod"


def test_a_new_package_updates_the_functions(
    local_aws: LocalAws, built: Build, tmp_path: Path
) -> None:
    deploy_onto(local_aws, built)
    changed_zip = write_zip(
        [Entry("runtime/__init__.py", b'"""a later release"""\n')], tmp_path / "new.zip"
    )
    later = Build(
        built.out_dir,
        Artefact.of(changed_zip.path),
        built.mapping_zip,
        built.mapping_dir,
        built.record,
    )
    report = deploy_onto(local_aws, later)
    assert report.stack.outcome == "updated"
    assert (
        report.parameters["LambdaCodeKey"] == f"lambda/siesa-runtime-{changed_zip.sha256[:16]}.zip"
    )
    config = local_aws.client("lambda").get_function(FunctionName="siesa-integration-loader")[
        "Configuration"
    ]
    assert config["CodeSha256"] == code_sha256(changed_zip.path)


def test_a_bad_parameter_fails_before_anything_is_uploaded(
    local_aws: LocalAws, built: Build
) -> None:
    with pytest.raises(
        DeploymentError, match="parameter ReservedConcurrency=0 is below its minimum 1"
    ):
        deploy_onto(local_aws, built, parameters={"ReservedConcurrency": "0"})
    assert local_aws.client("s3").list_buckets()["Buckets"] == []


def test_a_failing_resource_is_named(local_aws: LocalAws, built: Build) -> None:
    local_aws.client("s3").create_bucket(Bucket="siesa-integration-taken")
    with pytest.raises(StackFailed) as failure:
        deploy_onto(local_aws, built, parameters={"ConfigBucketName": "siesa-integration-taken"})
    assert [event.logical_id for event in failure.value.failures] == ["ConfigBucket"]
    message = str(failure.value)
    assert message.startswith(f"stack {STACK} failed")
    assert "ConfigBucket (AWS::S3::Bucket)" in message and "BucketAlreadyExists" in message


def test_a_table_left_by_an_earlier_install_is_named(local_aws: LocalAws, built: Build) -> None:
    # DeletionPolicy: Retain keeps the tables when a stack goes; a new stack then cannot create them
    local_aws.client("dynamodb").create_table(
        TableName="siesa-integration-runs",
        KeySchema=[{"AttributeName": "client_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "client_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(StackFailed) as failure:
        deploy_onto(local_aws, built)
    assert [event.logical_id for event in failure.value.failures] == ["RunsTable"]
    assert "ResourceInUseException: Table already exists: siesa-integration-runs" in str(
        failure.value
    )


def test_a_stack_left_in_review_is_replaced(local_aws: LocalAws, built: Build) -> None:
    # a change set created and never executed leaves an empty stack in REVIEW_IN_PROGRESS
    local_aws.client("cloudformation").create_change_set(
        StackName=STACK,
        ChangeSetName="abandoned",
        ChangeSetType="CREATE",
        TemplateBody='{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}',
    )
    notes: list[str] = []
    report = deploy(
        built,
        DeployRequest(stack_name=STACK, environment="test"),
        deployment=Deployment(local_aws.url, region=local_aws.region),
        on_note=notes.append,
        poll_seconds=0.01,
    )
    assert report.stack.outcome == "created"
    assert any("REVIEW_IN_PROGRESS from an earlier failed create" in note for note in notes)
    assert report.stack.outputs["ConfigBucketName"] == CONFIG


def test_a_template_too_big_to_send_inline_goes_through_s3(
    local_aws: LocalAws, built: Build
) -> None:
    report = deploy(
        built,
        DeployRequest(stack_name=STACK, environment="test"),
        deployment=Deployment(local_aws.url, region=local_aws.region),
        poll_seconds=0.01,
        template_body_limit=1_000,
    )
    assert report.stack.outcome == "created"
    stored = [
        upload.key for upload in report.artefact_uploads if upload.key.startswith("templates/")
    ]
    assert len(stored) == 1 and stored[0].endswith(".yaml")
