"""The request census names each AWS request's service and operation as billing sees them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from local.request_census import RequestCensus, operation_of, service_of


def _signed(service: str, **environ: Any) -> dict[str, Any]:
    scope = f"AKIDEXAMPLE/20261206/us-east-1/{service}/aws4_request"
    return {
        "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0",
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(b""),
        **environ,
    }


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (_signed("dynamodb", HTTP_X_AMZ_TARGET="DynamoDB_20120810.UpdateItem"), "UpdateItem"),
        (_signed("s3", REQUEST_METHOD="PUT", PATH_INFO="/bucket/runs/a/b.ndjson"), "PutObject"),
        (_signed("s3", REQUEST_METHOD="GET", PATH_INFO="/bucket/runs/a/b.ndjson"), "GetObject"),
        (
            _signed("s3", PATH_INFO="/bucket", QUERY_STRING="list-type=2&prefix=runs%2F"),
            "ListObjectsV2",
        ),
        (
            _signed(
                "s3",
                REQUEST_METHOD="PUT",
                PATH_INFO="/bucket/new",
                HTTP_X_AMZ_COPY_SOURCE="/bucket/old",
            ),
            "CopyObject",
        ),
        (
            _signed("s3", REQUEST_METHOD="POST", PATH_INFO="/bucket", QUERY_STRING="delete"),
            "DeleteObjects",
        ),
        (
            _signed(
                "lambda",
                REQUEST_METHOD="POST",
                PATH_INFO="/2015-03-31/functions/siesa-integration-loader/invocations",
            ),
            "Invoke",
        ),
    ],
)
def test_each_request_is_named_by_its_operation(environ: dict[str, Any], expected: str) -> None:
    assert operation_of(environ, service_of(environ)) == expected


def test_a_form_action_is_read_and_the_body_left_for_moto() -> None:
    body = b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Aalerts"
    environ = _signed(
        "sns",
        REQUEST_METHOD="POST",
        CONTENT_TYPE="application/x-www-form-urlencoded; charset=utf-8",
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body)},
    )
    assert operation_of(environ, "sns") == "Publish"
    assert environ["wsgi.input"].read() == body


def test_an_unsigned_request_is_counted_apart() -> None:
    assert service_of({"PATH_INFO": "/moto-api/reset"}) == "unsigned"


def test_the_wrapper_counts_bytes_and_times_invocations_and_clear_starts_afresh() -> None:
    census = RequestCensus()
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"{}"]

    wrapped = census.wrap(app)
    put = _signed("s3", REQUEST_METHOD="PUT", PATH_INFO="/bucket/key", CONTENT_LENGTH="1234")
    invoke = _signed(
        "lambda",
        REQUEST_METHOD="POST",
        PATH_INFO="/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:"
        "siesa-integration-extractor/invocations",
    )
    for environ in (put, put, invoke):
        assert list(wrapped(environ, lambda *_: None)) == [b"{}"]
    requests, uploaded, invocations = census.snapshot()
    assert requests[("s3", "PutObject")] == 2
    assert uploaded[("s3", "PutObject")] == 2468
    assert list(invocations) == ["siesa-integration-extractor"]
    assert len(invocations["siesa-integration-extractor"]) == 1
    assert len(seen) == 3
    census.clear()
    assert census.snapshot() == ({}, {}, {})


def test_a_dynamodb_batch_counts_its_items_and_leaves_the_body_for_moto() -> None:
    census = RequestCensus()
    bodies: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        bodies.append(environ["wsgi.input"].read())
        return [b"{}"]

    writes = {"t": [{"PutRequest": {"Item": {"k": {"S": str(n)}}}} for n in range(3)]}
    body = json.dumps({"RequestItems": writes}).encode()
    environ = _signed(
        "dynamodb",
        REQUEST_METHOD="POST",
        HTTP_X_AMZ_TARGET="DynamoDB_20120810.BatchWriteItem",
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body)},
    )
    list(census.wrap(app)(environ, lambda *_: None))
    assert census.item_counts()[("dynamodb", "BatchWriteItem")] == 3
    assert census.snapshot()[0][("dynamodb", "BatchWriteItem")] == 1
    assert bodies == [body]
