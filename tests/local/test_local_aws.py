"""LocalAws: a server on loopback, the process pointed at it while it runs, everything restored after."""

from __future__ import annotations

import os
import re
import socket

import boto3
import httpx
import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config

from local.embedded_aws import LOOPBACK, LocalAws, LocalAwsError
from local.lambda_dispatch import DispatchError


def test_listens_on_an_ephemeral_loopback_port_and_points_the_process_at_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-REAL-LOOKING")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("MOTO_PORT", raising=False)

    with LocalAws() as aws:
        assert aws.port > 0
        assert aws.url == f"http://{LOOPBACK}:{aws.port}"
        assert os.environ["AWS_ENDPOINT_URL"] == aws.url
        assert os.environ["MOTO_PORT"] == str(aws.port)
        assert os.environ["AWS_ACCESS_KEY_ID"] == "local"
        assert "AWS_PROFILE" not in os.environ
        assert default_user_config["stepfunctions"] == {"execute_state_machine": True}
        assert default_user_config["lambda"] == {"use_docker": False}
        # a plain boto3 client (as handlers create) reaches the server through the environment
        boto3.client("s3").create_bucket(Bucket="siesa-integration-probe")
        assert [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]] == [
            "siesa-integration-probe"
        ]
        port = aws.port

    assert os.environ["AWS_PROFILE"] == "someone-real"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIA-REAL-LOOKING"
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert "MOTO_PORT" not in os.environ
    assert default_user_config["stepfunctions"] == {"execute_state_machine": False}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{LOOPBACK}:{port}/", timeout=2)


def test_each_start_begins_empty() -> None:
    with LocalAws() as aws:
        aws.client("s3").create_bucket(Bucket="siesa-integration-left-over")
    with LocalAws() as aws:
        assert aws.client("s3").list_buckets()["Buckets"] == []


def test_a_taken_port_is_a_clear_error_and_leaves_nothing_behind() -> None:
    original_invoke = LambdaSimpleBackend.invoke
    before = dict(os.environ)
    with socket.socket() as holder:
        holder.bind((LOOPBACK, 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(LocalAwsError, match=re.escape(f"cannot listen on {LOOPBACK}:{taken}")):
            LocalAws(taken).start()
    assert LambdaSimpleBackend.invoke is original_invoke
    assert dict(os.environ) == before


def test_lambda_backend_is_restored_after_stop() -> None:
    original_invoke = LambdaSimpleBackend.invoke
    with LocalAws():
        assert LambdaSimpleBackend.invoke is not original_invoke
    assert LambdaSimpleBackend.invoke is original_invoke


def test_one_embedded_aws_per_process() -> None:
    with LocalAws(), pytest.raises(DispatchError, match="already dispatched"):
        LocalAws().start()


def test_using_it_stopped_is_an_error() -> None:
    aws = LocalAws()
    with pytest.raises(LocalAwsError, match="not running"):
        _ = aws.url
    with pytest.raises(LocalAwsError, match="not running"):
        aws.export({"STATE_MACHINE_ARN": "x"})


def test_exported_variables_last_until_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    with LocalAws() as aws:
        aws.export({"STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:x"})
        assert os.environ["STATE_MACHINE_ARN"].endswith(":x")
    assert "STATE_MACHINE_ARN" not in os.environ
