"""The Lambda seam: invocations run our handlers in-process and answer as Lambda does."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from local.lambda_dispatch import (
    DEFAULT_HANDLERS,
    DispatchError,
    LambdaDispatcher,
    dispatching,
)
from runtime.errors import ProductRateLimited

REGION = "us-east-1"


@pytest.fixture
def lambda_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process, Lambda without Docker, one function per test to invoke."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws(config={"lambda": {"use_docker": False}}):
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="siesa-integration-test-role", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", "")
        client = boto3.client("lambda", region_name=REGION)
        client.create_function(
            FunctionName="siesa-integration-loader",
            Runtime="python3.11",
            Role=role,
            Handler="runtime.handlers.loader.lambda_handler",
            MemorySize=512,
            Timeout=600,
            Code={"ZipFile": buffer.getvalue()},
        )
        yield client


def _invoke(client: Any, payload: Any, name: str = "siesa-integration-loader") -> tuple[Any, Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def test_the_handler_gets_the_event_and_a_lambda_context(lambda_client: Any) -> None:
    seen: list[tuple[Any, Any]] = []

    def handler(event: Any, context: Any) -> Any:
        seen.append((event, context))
        return {"status": "success", "count": event["count"]}

    with dispatching(LambdaDispatcher({"siesa-integration-loader": handler})):
        error, body = _invoke(lambda_client, {"client_id": "cliente-a", "count": 3})

    assert (error, body) == (None, {"status": "success", "count": 3})
    event, context = seen[0]
    assert event == {"client_id": "cliente-a", "count": 3}
    assert context.function_name == "siesa-integration-loader"
    assert context.invoked_function_arn.endswith(":function:siesa-integration-loader")
    assert context.memory_limit_in_mb == 512
    assert 0 < context.get_remaining_time_in_millis() <= 600_000
    assert context.log_group_name == "/aws/lambda/siesa-integration-loader"
    assert context.aws_request_id


def test_an_unhandled_exception_answers_with_lambda_error_shape(lambda_client: Any) -> None:
    def handler(event: Any, context: Any) -> Any:
        raise ProductRateLimited("Kong answered 429", retry_after=30)

    with dispatching(LambdaDispatcher({"siesa-integration-loader": handler})):
        error, body = _invoke(lambda_client, {})

    assert error == "Unhandled"
    assert body == {"errorType": "ProductRateLimited", "errorMessage": "Kong answered 429"}


def test_a_function_without_handler_is_an_error_naming_it(lambda_client: Any) -> None:
    with dispatching(LambdaDispatcher({})):
        error, body = _invoke(lambda_client, {})
    assert error == "Unhandled"
    assert body["errorType"] == "DispatchError"
    assert "siesa-integration-loader" in body["errorMessage"]


def test_handlers_named_by_import_path_load_on_first_call(lambda_client: Any) -> None:
    dispatcher = LambdaDispatcher({"siesa-integration-loader": "json:dumps"})
    handler = dispatcher.handler_for(
        "arn:aws:lambda:us-east-1:1:function:siesa-integration-loader:1"
    )
    assert handler is json.dumps
    broken = LambdaDispatcher({"siesa-integration-loader": "runtime.no_such_module:handler"})
    with pytest.raises(
        DispatchError, match=re.escape("cannot import handler runtime.no_such_module:handler")
    ):
        broken.handler_for("siesa-integration-loader")


def test_the_default_table_routes_to_the_runtime_handlers() -> None:
    assert DEFAULT_HANDLERS == {
        "siesa-integration-extractor": "runtime.handlers.extractor:lambda_handler",
        "siesa-integration-transformer": "runtime.handlers.transformer:lambda_handler",
        "siesa-integration-loader": "runtime.handlers.loader:lambda_handler",
    }


def test_leaving_restores_moto_and_nesting_is_refused() -> None:
    original = LambdaSimpleBackend.invoke
    with dispatching(LambdaDispatcher({})):
        assert LambdaSimpleBackend.invoke is not original
        with pytest.raises(DispatchError), dispatching(LambdaDispatcher({})):
            pass
    assert LambdaSimpleBackend.invoke is original
