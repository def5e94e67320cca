"""One test per recipe of shared/notes/local-aws.md (moto 5.2.5), so an upgrade that breaks one fails here.

Plus what the local engine relies on beyond the notes: the context object paths and
Fail-state paths of our definition, and that CloudFormation's state machines do not
execute (why provision() creates the executing one itself).
"""

from __future__ import annotations

import io
import json
import os
import socket
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.embedded_aws import LocalAws
from local.lambda_dispatch import LambdaDispatcher, dispatching
from runtime.errors import SiesaAuthError

REGION = "us-east-1"
MOTO_CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


@pytest.fixture
def in_process_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's in-process mock with state machines executing and Lambda without Docker."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(config=MOTO_CONFIG):
        yield


def _role(client: Any) -> str:
    arn: str = client("iam").create_role(
        RoleName="siesa-integration-recipe-role", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    return arn


def _function(client: Any, name: str) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "")
    arn: str = client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=_role(client),
        Handler="handler.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
    )["FunctionArn"]
    return arn


def _execute(client: Any, definition: dict[str, Any], execution_input: dict[str, Any]) -> Any:
    stepfunctions = client("stepfunctions")
    machine = stepfunctions.create_state_machine(
        name=f"recipe-{time.monotonic_ns()}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/siesa-integration-recipe",
    )["stateMachineArn"]
    started = stepfunctions.start_execution(
        stateMachineArn=machine, name="recipe-run", input=json.dumps(execution_input)
    )
    deadline = time.monotonic() + 60
    while True:
        described = stepfunctions.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def _boto(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


# --- recipe: Step Functions executes the real definition ------------------------------------


def test_recipe_interpreter_runs_retry_catch_format_dynamodb_and_sns(in_process_aws: None) -> None:
    dynamodb = _boto("dynamodb")
    dynamodb.create_table(
        TableName="siesa-integration-clients",
        KeySchema=[{"AttributeName": "client_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "client_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = _boto("sns").create_topic(Name="siesa-integration-alerts")["TopicArn"]
    queue = _boto("sqs").create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = _boto("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    _boto("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    definition = {
        "StartAt": "Fail",
        "States": {
            "Fail": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "no-such-table", "Key": {"k": {"S": "x"}}},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Log"}],
                "End": True,
            },
            "Log": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": "siesa-integration-clients",
                    "Key": {"client_id": {"S.$": "$.client_id"}},
                    "UpdateExpression": "SET last_sync_records = :records",
                    "ExpressionAttributeValues": {
                        ":records": {"N.$": "States.Format('{}', $.count)"}
                    },
                },
                "ResultPath": None,
                "Next": "Notify",
            },
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {
                    "TopicArn": topic,
                    "Message.$": "States.Format('client {} failed', $.client_id)",
                },
                "End": True,
            },
        },
    }

    described = _execute(_boto, definition, {"client_id": "cliente-a", "count": 42})

    assert described["status"] == "SUCCEEDED"
    item = dynamodb.get_item(
        TableName="siesa-integration-clients", Key={"client_id": {"S": "cliente-a"}}
    )["Item"]
    assert item["last_sync_records"] == {"N": "42"}
    messages = _boto("sqs").receive_message(QueueUrl=queue)["Messages"]
    assert json.loads(messages[0]["Body"])["Message"] == "client cliente-a failed"


# --- recipe: Lambda tasks call your handlers in-process ------------------------------------


def test_recipe_dispatched_handler_errors_match_retry_and_catch_by_class_name(
    in_process_aws: None,
) -> None:
    calls: list[dict[str, Any]] = []

    def refuse(event: dict[str, Any], context: Any) -> Any:
        calls.append(event)
        raise SiesaAuthError("credentials refused")

    with dispatching(LambdaDispatcher({"siesa-integration-extractor": refuse})):
        function = _function(_boto, "siesa-integration-extractor")
        definition = {
            "StartAt": "Extract",
            "States": {
                "Extract": {
                    "Type": "Task",
                    "Resource": function,
                    "Retry": [
                        {"ErrorEquals": ["SiesaAuthError"], "MaxAttempts": 0},
                        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3},
                    ],
                    "Catch": [
                        {
                            "ErrorEquals": ["SiesaAuthError"],
                            "ResultPath": "$.error",
                            "Next": "Caught",
                        }
                    ],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        }
        described = _execute(_boto, definition, {"client_id": "cliente-a"})

    assert len(calls) == 1
    assert described["status"] == "SUCCEEDED"
    error = json.loads(described["output"])["error"]
    assert error["Error"] == "SiesaAuthError"
    assert json.loads(error["Cause"]) == {
        "errorType": "SiesaAuthError",
        "errorMessage": "credentials refused",
    }


# --- recipe: server mode needs MOTO_PORT -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_recipe_server_mode_calls_lambda_at_moto_port() -> None:
    def echo(event: dict[str, Any], context: Any) -> Any:
        return {"echo": event["client_id"], "function": context.function_name}

    with LocalAws(handlers={"siesa-integration-extractor": echo}) as aws:
        assert os.environ["MOTO_PORT"] == str(aws.port)
        function = _function(aws.client, "siesa-integration-extractor")
        definition = {
            "StartAt": "Call",
            "States": {"Call": {"Type": "Task", "Resource": function, "End": True}},
        }

        described = _execute(aws.client, definition, {"client_id": "cliente-a"})
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == {
            "echo": "cliente-a",
            "function": "siesa-integration-extractor",
        }

        os.environ["MOTO_PORT"] = str(_free_port())
        try:
            described = _execute(aws.client, definition, {"client_id": "cliente-a"})
        finally:
            os.environ["MOTO_PORT"] = str(aws.port)
        assert described["status"] == "FAILED"
        assert "Could not connect to the endpoint URL" in described["cause"]


# --- recipe: CloudFormation -----------------------------------------------------------------


def test_recipe_cloudformation_creates_resources_and_skips_alarms(in_process_aws: None) -> None:
    template = {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "siesa-integration-recipe",
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [
                        {"AttributeName": "id", "AttributeType": "S"},
                        {"AttributeName": "flag", "AttributeType": "S"},
                    ],
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "GlobalSecondaryIndexes": [
                        {
                            "IndexName": "flag-index",
                            "KeySchema": [{"AttributeName": "flag", "KeyType": "HASH"}],
                            "Projection": {"ProjectionType": "ALL"},
                        }
                    ],
                    "SSESpecification": {"SSEEnabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                },
            },
            "Group": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {
                    "LogGroupName": "/aws/lambda/siesa-integration-recipe",
                    "RetentionInDays": 7,
                },
            },
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": "siesa-integration-recipe"},
            },
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "siesa-integration-recipe",
                    "Namespace": "AWS/States",
                    "MetricName": "ExecutionsFailed",
                    "Statistic": "Sum",
                    "Period": 300,
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                },
            },
        }
    }
    cloudformation = _boto("cloudformation")
    with pytest.warns(UserWarning, match="AWS::CloudWatch::Alarm"):
        cloudformation.create_stack(StackName="recipe", TemplateBody=json.dumps(template))

    stack = cloudformation.describe_stacks(StackName="recipe")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    table = _boto("dynamodb").describe_table(TableName="siesa-integration-recipe")["Table"]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "flag-index"
    groups = _boto("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/siesa")["logGroups"]
    assert groups[0]["retentionInDays"] == 7
    assert _boto("cloudwatch").describe_alarms()["MetricAlarms"] == []


def test_cloudformation_state_machines_do_not_execute(in_process_aws: None) -> None:
    """Why provision() creates the executing state machine itself (moto 5.2.5)."""
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": "siesa-integration-recipe",
                    "RoleArn": "arn:aws:iam::123456789012:role/siesa-integration-recipe",
                    "DefinitionString": json.dumps(definition),
                },
            }
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Machine"}}},
    }
    cloudformation = _boto("cloudformation")
    cloudformation.create_stack(StackName="recipe", TemplateBody=json.dumps(template))
    arn = cloudformation.describe_stacks(StackName="recipe")["Stacks"][0]["Outputs"][0][
        "OutputValue"
    ]

    stepfunctions = _boto("stepfunctions")
    with pytest.raises(stepfunctions.exceptions.StateMachineDoesNotExist):
        stepfunctions.start_execution(stateMachineArn=arn, input="{}")


# --- what our definition relies on ----------------------------------------------------------


def test_context_paths_and_fail_state_paths_work(in_process_aws: None) -> None:
    definition = {
        "StartAt": "Name",
        "States": {
            "Name": {
                "Type": "Pass",
                "Parameters": {
                    "execution.$": "$$.Execution.Name",
                    "entered.$": "$$.State.EnteredTime",
                    "error": {"Error": "LoadFailed", "Cause": "3 of 3 records failed"},
                },
                "Next": "Stop",
            },
            "Stop": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        },
    }

    described = _execute(_boto, definition, {})

    assert described["status"] == "FAILED"
    assert (described["error"], described["cause"]) == ("LoadFailed", "3 of 3 records failed")
    history = _boto("stepfunctions").get_execution_history(executionArn=described["executionArn"])
    passed = next(
        json.loads(event["stateExitedEventDetails"]["output"])
        for event in history["events"]
        if event.get("stateExitedEventDetails", {}).get("name") == "Name"
    )
    assert passed["execution"] == "recipe-run"
    assert passed["entered"].startswith("20")
