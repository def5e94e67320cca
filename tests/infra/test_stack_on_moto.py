"""The template deploys on moto's CloudFormation and creates what it declares."""

from __future__ import annotations

import json

import pytest

from local.embedded_aws import LocalAws
from local.provision import ProvisionResult
from ops.deploy import infra
from runtime.budgets import BUDGETS_TABLE_SCHEMA

Deployed = tuple[LocalAws, ProvisionResult]


def test_stack_completes_with_all_outputs(deployed: Deployed) -> None:
    aws, result = deployed
    stack = aws.client("cloudformation").describe_stacks(StackName=result.stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert set(result.outputs) == set(infra.load_template()["Outputs"])
    assert result.outputs["ClientsTableName"] == "siesa-integration-clients"
    assert result.outputs["RunsTableName"] == "siesa-integration-runs"
    assert result.outputs["ConfigBucketName"] == "siesa-integration-config"
    assert result.outputs["AlertsTopicArn"].endswith(":siesa-integration-alerts")
    assert result.outputs["EventBridgeRoleArn"].endswith(":role/siesa-integration-eventbridge-role")


def test_clients_table_has_both_indexes(deployed: Deployed) -> None:
    aws, _ = deployed
    table = aws.client("dynamodb").describe_table(TableName="siesa-integration-clients")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "client_id", "KeyType": "HASH"}]
    indexes = {index["IndexName"]: index["KeySchema"] for index in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        "enabled-index": [{"AttributeName": "enabled_flag", "KeyType": "HASH"}],
        "product-type-index": [{"AttributeName": "product_type", "KeyType": "HASH"}],
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_enabled_index_finds_enabled_clients(deployed: Deployed) -> None:
    aws, _ = deployed
    dynamodb = aws.client("dynamodb")
    for client_id, flag in (("cliente-on", "true"), ("cliente-off", "false")):
        dynamodb.put_item(
            TableName="siesa-integration-clients",
            Item={
                "client_id": {"S": client_id},
                "enabled": {"BOOL": flag == "true"},
                "enabled_flag": {"S": flag},
                "product_type": {"S": "kong"},
            },
        )
    found = dynamodb.query(
        TableName="siesa-integration-clients",
        IndexName="enabled-index",
        KeyConditionExpression="enabled_flag = :on",
        ExpressionAttributeValues={":on": {"S": "true"}},
    )["Items"]
    assert [item["client_id"]["S"] for item in found] == ["cliente-on"]


def test_runs_table_is_keyed_by_client_and_run(deployed: Deployed) -> None:
    aws, _ = deployed
    table = aws.client("dynamodb").describe_table(TableName="siesa-integration-runs")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "client_id", "KeyType": "HASH"},
        {"AttributeName": "run_id", "KeyType": "RANGE"},
    ]


def test_budgets_table_is_keyed_by_client_and_budget(deployed: Deployed) -> None:
    aws, result = deployed
    dynamodb = aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=result.outputs["BudgetsTableName"])["Table"]
    assert table["TableName"] == "siesa-integration-budgets"
    assert table["KeySchema"] == BUDGETS_TABLE_SCHEMA["KeySchema"]


def test_config_bucket_is_encrypted_with_its_own_key(deployed: Deployed) -> None:
    aws, result = deployed
    (rule,) = aws.client("s3").get_bucket_encryption(Bucket="siesa-integration-config")[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": result.outputs["ConfigBucketKeyArn"],
    }
    # (moto 5.2.5's CloudFormation drops BucketKeyEnabled: test_keys.py reads it from the template)


@pytest.mark.parametrize(
    ("name", "memory", "timeout"),
    [
        ("siesa-integration-extractor", 512, 300),
        ("siesa-integration-transformer", 256, 180),
        ("siesa-integration-loader", 512, 600),
    ],
)
def test_functions_are_configured(deployed: Deployed, name: str, memory: int, timeout: int) -> None:
    aws, result = deployed
    function = aws.client("lambda").get_function(FunctionName=name)
    config = function["Configuration"]
    assert config["Runtime"] == "python3.11"
    assert (config["MemorySize"], config["Timeout"]) == (memory, timeout)
    role_output = name.removeprefix("siesa-integration-").capitalize() + "RoleArn"
    assert config["Role"] == result.outputs[role_output]
    variables = config["Environment"]["Variables"]
    assert variables["CLIENTS_TABLE"] == "siesa-integration-clients"
    assert variables["RUNS_TABLE"] == "siesa-integration-runs"
    assert variables["CONFIG_BUCKET"] == "siesa-integration-config"
    assert variables["ENVIRONMENT"] == "test"
    # the stages that call an API take their requests from the clients' shared budgets
    assert variables.get("BUDGETS_TABLE") == (
        None if name.endswith("transformer") else "siesa-integration-budgets"
    )
    assert function["Concurrency"]["ReservedConcurrentExecutions"] == 10


def test_log_groups_keep_seven_days_in_test(deployed: Deployed) -> None:
    aws, _ = deployed
    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/")["logGroups"]
    retention = {group["logGroupName"]: group["retentionInDays"] for group in groups}
    assert retention == {
        "/aws/lambda/siesa-integration-extractor": 7,
        "/aws/lambda/siesa-integration-transformer": 7,
        "/aws/lambda/siesa-integration-loader": 7,
        "/aws/vendedlogs/states/siesa-integration-workflow": 7,
    }


def test_keys_have_their_aliases_and_rotate(deployed: Deployed) -> None:
    aws, _ = deployed
    kms = aws.client("kms")
    aliases = {alias["AliasName"]: alias["TargetKeyId"] for alias in kms.list_aliases()["Aliases"]}
    for alias in (
        "alias/siesa-integration-logs",
        "alias/siesa-integration-alerts",
        "alias/siesa-integration-secrets",
        "alias/siesa-integration-config",
    ):
        assert kms.get_key_rotation_status(KeyId=aliases[alias])["KeyRotationEnabled"] is True


def test_alerts_topic_is_kms_encrypted(deployed: Deployed) -> None:
    aws, result = deployed
    attributes = aws.client("sns").get_topic_attributes(TopicArn=result.outputs["AlertsTopicArn"])
    assert attributes["Attributes"]["KmsMasterKeyId"]


def test_state_machine_runs_the_definition_file(deployed: Deployed) -> None:
    aws, result = deployed
    machine = aws.client("stepfunctions").describe_state_machine(
        stateMachineArn=result.state_machine_arn
    )
    assert machine["name"] == "siesa-integration-workflow"
    assert machine["roleArn"] == result.outputs["StepFunctionsRoleArn"]
    running = json.loads(machine["definition"])
    expected = json.loads(
        infra.render_definition(
            infra.load_definition(),
            infra.definition_values(infra.load_template(), result.outputs),
        )
    )
    assert running == expected
    assert (
        running["States"]["ExtractFromSiesa"]["Resource"] == result.outputs["ExtractorFunctionArn"]
    )


def test_dashboard_is_created_with_six_widgets(deployed: Deployed) -> None:
    aws, _ = deployed
    body = aws.client("cloudwatch").get_dashboard(DashboardName="siesa-integration-monitoring")[
        "DashboardBody"
    ]
    widgets = json.loads(body)["widgets"]
    assert len(widgets) == 6
    assert "siesa-integration-workflow" in body  # ${Workflow} was substituted


def test_roles_exist_with_their_trust(deployed: Deployed) -> None:
    aws, result = deployed
    iam = aws.client("iam")
    role = iam.get_role(RoleName="siesa-integration-eventbridge-role")["Role"]
    assert role["Arn"] == result.outputs["EventBridgeRoleArn"]
    trust = role["AssumeRolePolicyDocument"]
    if isinstance(trust, str):
        trust = json.loads(trust)
    assert trust["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}


def test_types_moto_cannot_create_are_reported(deployed: Deployed) -> None:
    """Alarms, the bucket policy and the subscription are checked by test_template_static.py,
    the code-signing configuration (off by default) by test_code_signing.py."""
    _, result = deployed
    assert set(result.skipped_resources.values()) == {
        "AWS::CloudWatch::Alarm",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::Subscription",
        "AWS::Lambda::CodeSigningConfig",
    }
    # five alarms, the policy, the subscription, the code-signing configuration
    assert len(result.skipped_resources) == 8
