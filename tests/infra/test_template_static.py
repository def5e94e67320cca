"""What the template declares, read from the file.

Covers the settings moto's CloudFormation does not apply (bucket versioning,
public access block, lifecycle, bucket policy, PITR, alarms, the email
subscription); test_stack_on_moto.py checks what a deployment creates.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ops.deploy import infra
from runtime import settings
from runtime.budgets import ATTRIBUTES, BUDGETS_TABLE_SCHEMA
from runtime.config import DEFAULT_FAILED_RECORDS_ALERT_PERCENT

TEMPLATE: dict[str, Any] = infra.load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def props(name: str) -> dict[str, Any]:
    return dict(RESOURCES[name]["Properties"])


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in RESOURCES.items() if body["Type"] == kind}


def test_both_tables_are_encrypted_with_point_in_time_recovery() -> None:
    for name in ("ClientsTable", "RunsTable"):
        table = props(name)
        assert table["SSESpecification"] == {"SSEEnabled": True}
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert RESOURCES[name]["DeletionPolicy"] == "Retain"


def test_budgets_table_is_encrypted_keyed_like_the_runtime_and_expires_idle_items() -> None:
    table = props("BudgetsTable")
    assert table["TableName"] == "siesa-integration-budgets"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["KeySchema"] == BUDGETS_TABLE_SCHEMA["KeySchema"]
    assert table["AttributeDefinitions"] == BUDGETS_TABLE_SCHEMA["AttributeDefinitions"]
    assert table["BillingMode"] == BUDGETS_TABLE_SCHEMA["BillingMode"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "expires_at" in ATTRIBUTES
    # a budget is a minute's state: a replaced table loses nothing worth keeping
    assert RESOURCES["BudgetsTable"]["DeletionPolicy"] == "Delete"


@pytest.mark.parametrize("logical", ["ExtractorFunction", "TransformerFunction", "LoaderFunction"])
def test_the_stages_that_call_an_api_are_told_the_budgets_table(logical: str) -> None:
    variables = props(logical)["Environment"]["Variables"]
    expected = None if logical == "TransformerFunction" else {"Ref": "BudgetsTable"}
    assert variables.get(settings.BUDGETS_TABLE_ENV) == expected


def test_clients_table_indexes_enabled_as_a_string_flag() -> None:
    table = props("ClientsTable")
    assert table["TableName"] == settings.DEFAULT_CLIENTS_TABLE
    types = {item["AttributeName"]: item["AttributeType"] for item in table["AttributeDefinitions"]}
    assert types == {"client_id": "S", "enabled_flag": "S", "product_type": "S"}
    indexes = {index["IndexName"]: index["KeySchema"] for index in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        "enabled-index": [{"AttributeName": "enabled_flag", "KeyType": "HASH"}],
        "product-type-index": [{"AttributeName": "product_type", "KeyType": "HASH"}],
    }


def test_runs_table_is_keyed_by_client_and_run() -> None:
    table = props("RunsTable")
    assert table["TableName"] == settings.DEFAULT_RUNS_TABLE
    assert table["KeySchema"] == [
        {"AttributeName": "client_id", "KeyType": "HASH"},
        {"AttributeName": "run_id", "KeyType": "RANGE"},
    ]


def test_bucket_is_versioned_encrypted_private_and_expires_run_data() -> None:
    bucket = props("ConfigBucket")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    runs_rule = next(
        rule
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if rule["Id"] == "expire-run-data"
    )
    assert runs_rule["Prefix"] == "runs/"
    assert runs_rule["Status"] == "Enabled"
    assert runs_rule["ExpirationInDays"] == {"Ref": "RunDataRetentionDays"}
    assert TEMPLATE["Parameters"]["RunDataRetentionDays"]["Type"] == "Number"


def test_bucket_policy_refuses_requests_without_tls() -> None:
    policy = props("ConfigBucketPolicy")
    assert policy["Bucket"] == {"Ref": "ConfigBucket"}
    statements = policy["PolicyDocument"]["Statement"]
    insecure = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
    assert insecure["Effect"] == "Deny"
    assert insecure["Principal"] == "*"
    assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": ["ConfigBucket", "Arn"]} in insecure["Resource"]
    # every statement of the bucket policy denies; none grants
    assert {s["Effect"] for s in statements} == {"Deny"}


FUNCTIONS = {
    # logical id: (name, handler, memory MB, timeout s) from the design document
    "ExtractorFunction": ("siesa-integration-extractor", "extractor", 512, 300),
    "TransformerFunction": ("siesa-integration-transformer", "transformer", 256, 180),
    "LoaderFunction": ("siesa-integration-loader", "loader", 512, 600),
}


@pytest.mark.parametrize(("logical", "expected"), FUNCTIONS.items())
def test_functions_follow_the_design_document(
    logical: str, expected: tuple[str, str, int, int]
) -> None:
    name, handler, memory, timeout = expected
    function = props(logical)
    assert function["FunctionName"] == name
    assert function["Handler"] == f"runtime.handlers.{handler}.lambda_handler"
    runtime_version = re.fullmatch(r"python3\.(\d+)", function["Runtime"])
    assert runtime_version and int(runtime_version.group(1)) >= 11
    assert (function["MemorySize"], function["Timeout"]) == (memory, timeout)
    assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    assert function["Code"] == {
        "S3Bucket": {"Ref": "ArtifactsBucket"},
        "S3Key": {"Ref": "LambdaCodeKey"},
    }
    variables = function["Environment"]["Variables"]
    assert variables["CLIENTS_TABLE"] == {"Ref": "ClientsTable"}
    assert variables["RUNS_TABLE"] == {"Ref": "RunsTable"}
    assert variables["CONFIG_BUCKET"] == {"Ref": "ConfigBucket"}
    assert variables["MAPPINGS_PREFIX"] == settings.DEFAULT_MAPPINGS_PREFIX
    assert variables["ENVIRONMENT"] == {"Ref": "Environment"}
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == settings.DEFAULT_METRICS_NAMESPACE
    assert variables["POWERTOOLS_SERVICE_NAME"] == settings.DEFAULT_SERVICE_NAME
    # its own role and its own log group
    assert function["Role"] == {"Fn::GetAtt": [logical.replace("Function", "Role"), "Arn"]}
    assert function["LoggingConfig"] == {
        "LogGroup": {"Ref": logical.replace("Function", "LogGroup")}
    }


def test_loader_batches_by_one_hundred() -> None:
    assert props("LoaderFunction")["Environment"]["Variables"]["BATCH_SIZE"] == "100"


def test_log_groups_keep_30_days_in_prod_7_in_test_under_the_logs_key() -> None:
    groups = of_type("AWS::Logs::LogGroup")
    assert len(groups) == 4
    for body in groups.values():
        group = body["Properties"]
        assert group["RetentionInDays"] == {"Fn::If": ["IsProd", 30, 7]}
        assert group["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}
    assert TEMPLATE["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}
    assert TEMPLATE["Parameters"]["Environment"]["AllowedValues"] == ["test", "prod"]
    assert props("LogsKeyAlias") == {
        "AliasName": "alias/siesa-integration-logs",
        "TargetKeyId": {"Ref": "LogsKey"},
    }
    assert props("LogsKey")["EnableKeyRotation"] is True


def test_state_machine_reads_the_definition_file_and_logs() -> None:
    machine = props("Workflow")
    assert machine["StateMachineName"] == settings.DEFAULT_STATE_MACHINE_NAME
    assert machine["DefinitionS3Location"]["Key"] == {"Ref": "StateMachineDefinitionKey"}
    assert machine["RoleArn"] == {"Fn::GetAtt": ["StepFunctionsRole", "Arn"]}
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] in ("ALL", "ERROR")
    assert logging["IncludeExecutionData"] is False
    assert logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": ["WorkflowLogGroup", "Arn"]
    }


def test_alerts_topic_is_encrypted_with_an_optional_email_subscription() -> None:
    topic = props("AlertsTopic")
    assert topic["TopicName"] == settings.DEFAULT_ALERTS_TOPIC_NAME
    assert topic["KmsMasterKeyId"] == {"Ref": "AlertsKey"}
    subscription = RESOURCES["AlertsEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlertEmail"}


def _alarm(metric: str) -> dict[str, Any]:
    """The alarm watching `metric` (by name, in a metric stat or a Metrics Insights query)."""
    for body in of_type("AWS::CloudWatch::Alarm").values():
        alarm = body["Properties"]
        names = {alarm.get("MetricName")}
        for entry in alarm.get("Metrics", []):
            if "MetricStat" in entry:
                names.add(entry["MetricStat"]["Metric"]["MetricName"])
            expression = entry.get("Expression", "")
            if isinstance(expression, dict):
                expression = expression["Fn::Sub"]
            names.update(re.findall(r"SELECT \w+\((\w+)\)", expression))
        if metric in names:
            return dict(alarm)
    raise AssertionError(f"no alarm on {metric}")


def _query(alarm: dict[str, Any]) -> str:
    (entry,) = [entry for entry in alarm["Metrics"] if entry.get("ReturnData")]
    expression: str = entry["Expression"]["Fn::Sub"]
    return expression


def test_the_four_alarms_of_the_design_document_and_the_failed_records_alarm() -> None:
    assert len(of_type("AWS::CloudWatch::Alarm")) == 5
    success = _alarm("SyncSuccessRate")
    assert _query(success) == (
        "SELECT AVG(SyncSuccessRate) FROM SCHEMA(SiesaIntegration, ClientId, Environment, "
        "SyncType) WHERE Environment = '${Environment}'"
    )
    assert (success["Threshold"], success["ComparisonOperator"]) == (90, "LessThanThreshold")
    errors_alarm = _alarm("Errors")
    stats = [entry["MetricStat"] for entry in errors_alarm["Metrics"] if "MetricStat" in entry]
    assert {stat["Period"] for stat in stats} == {300}
    assert {stat["Metric"]["Namespace"] for stat in stats} == {"AWS/Lambda"}
    assert len(stats) == 3
    assert (errors_alarm["Threshold"], errors_alarm["ComparisonOperator"]) == (
        5,
        "GreaterThanThreshold",
    )
    failed = _alarm("ExecutionsFailed")
    assert failed["Namespace"] == "AWS/States"
    assert failed["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "Workflow"}}]
    assert (failed["Threshold"], failed["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    duration = _alarm("SyncDuration")
    assert "MAX(SyncDuration)" in _query(duration)
    assert (duration["Threshold"], duration["ComparisonOperator"]) == (
        1800,
        "GreaterThanThreshold",
    )
    share = _alarm("FailedRecordsShare")
    assert _query(share) == (
        "SELECT MAX(FailedRecordsShare) FROM SCHEMA(SiesaIntegration, ClientId, Environment, "
        "SyncType) WHERE Environment = '${Environment}'"
    )
    assert (share["Threshold"], share["ComparisonOperator"]) == (5, "GreaterThanThreshold")
    assert share["Threshold"] == DEFAULT_FAILED_RECORDS_ALERT_PERCENT  # the config's default
    for alarm in (success, errors_alarm, failed, duration, share):
        assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}]
        assert alarm["ActionsEnabled"] == {"Fn::If": ["IsProd", True, False]}


def test_the_dashboard_has_the_six_widgets_of_the_design_document() -> None:
    body = props("Dashboard")["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    assert [widget["properties"]["title"] for widget in widgets] == [
        "Execution Success Rate (per client)",
        "Average Execution Duration",
        "Records Processed",
        "Lambda Errors (by function)",
        "API Call Latency (Siesa vs product)",
        "Failed Records Count",
    ]


def test_outputs_name_everything_operators_and_the_local_engine_need() -> None:
    assert {
        "StateMachineArn",
        "ClientsTableName",
        "RunsTableName",
        "ConfigBucketName",
        "AlertsTopicArn",
        "ExtractorRoleArn",
        "TransformerRoleArn",
        "LoaderRoleArn",
        "StepFunctionsRoleArn",
        "EventBridgeRoleArn",
    } <= set(TEMPLATE["Outputs"])


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def test_only_the_deploy_role_may_sign_the_mapping_bundle() -> None:
    """docs/architecture.md, "Bundle trust": ECDSA P-256, sign and verify, kms:Sign for DeployRoleArn only."""
    key = RESOURCES["MappingsSigningKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    statements = _statements(key["KeyPolicy"])
    signers = [
        s for s in statements if s["Effect"] == "Allow" and "kms:Sign" in _as_list(s["Action"])
    ]
    assert [s["Principal"] for s in signers] == [{"AWS": {"Ref": "DeployRoleArn"}}]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Action"] == "kms:Sign" and deny["Principal"] == "*"
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Ref": "DeployRoleArn"}}}


def test_only_the_deploy_role_may_write_the_bundle() -> None:
    policy = RESOURCES["ConfigBucketPolicy"]["Properties"]["PolicyDocument"]
    (rule,) = [s for s in _statements(policy) if s.get("Sid") == "OnlyTheDeployRoleWritesMappings"]
    assert rule["Effect"] == "Deny" and "s3:PutObject" in rule["Action"]
    assert rule["Resource"] == {"Fn::Sub": "${ConfigBucket.Arn}/mappings/*"}
    assert rule["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Ref": "DeployRoleArn"}}}


def test_the_loader_can_reach_neither_the_bundle_nor_the_signing_key() -> None:
    """It runs no mapping code (runtime/handlers/load_run.py): nothing of mappings/ is its business."""
    role = json.dumps(RESOURCES["LoaderRole"])
    assert "mappings/" not in role and "MappingsSigningKey" not in role
    environment = RESOURCES["LoaderFunction"]["Properties"]["Environment"]["Variables"]
    assert settings.MAPPINGS_SIGNING_KEY_ENV not in environment
    transformer = json.dumps(RESOURCES["TransformerFunction"]["Properties"]["Environment"])
    assert settings.MAPPINGS_SIGNING_KEY_ENV in transformer


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
