"""The Map shapes the per-page transform and load will use, tried on moto 5.2.5 first.

issue 13 "Bounded invocations": transform and load run per claim-check page
through a Map state, inline (`ItemsPath`) for small runs and distributed
(`ItemReader` over the run's extracted pages in S3) for large ones, chosen
on the page count, with the client's concurrency and iteration outputs kept
tiny. This pins what moto executes of that shape, with Lambda tasks inside.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from test_moto_recipes import _boto, _execute, _function, in_process_aws  # noqa: F401

from local.lambda_dispatch import LambdaDispatcher, dispatching

BUCKET = "siesa-integration-config"
PREFIX = "runs/cliente-a/20250115T100000Z-3f9a1c/extracted/"


def _page_task(function: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": function,
        "ResultPath": None,
        "End": True,
    }


def _definition(function: str, threshold: int) -> dict[str, Any]:
    """Choice on the page count: inline over the listed pages, or distributed over S3."""
    selector = {
        "client_id.$": "$.client_id",
        "run_id.$": "$.run_id",
        "page_key.$": "$$.Map.Item.Value",
    }
    return {
        "StartAt": "HowManyPages",
        "States": {
            "HowManyPages": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.page_count", "NumericGreaterThan": threshold, "Next": "Large"}
                ],
                "Default": "Small",
            },
            "Small": {
                "Type": "Map",
                "ItemsPath": "$.pages",
                "MaxConcurrencyPath": "$.concurrency",
                "ItemSelector": selector,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Page",
                    "States": {"Page": _page_task(function)},
                },
                "ResultPath": None,
                "Next": "After",
            },
            "Large": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket": BUCKET, "Prefix.$": "$.prefix"},
                },
                "MaxConcurrencyPath": "$.concurrency",
                "ItemSelector": {
                    "client_id.$": "$.client_id",
                    "run_id.$": "$.run_id",
                    "page_key.$": "$$.Map.Item.Value.Key",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Page",
                    "States": {"Page": _page_task(function)},
                },
                "ResultPath": None,
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        },
    }


@pytest.mark.parametrize("pages", [3, 5])
def test_a_map_runs_a_lambda_per_page_inline_or_distributed_with_a_tiny_output(
    in_process_aws: None,  # noqa: F811
    pages: int,
) -> None:
    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def per_page(event: dict[str, Any], context: Any) -> Any:
        with lock:
            seen.append(event)
        return {"records": 10, "large": "x" * 1000}  # dropped by ResultPath null

    s3 = _boto("s3")
    s3.create_bucket(Bucket=BUCKET)
    keys = [f"{PREFIX}page-{n:05d}.ndjson" for n in range(1, pages + 1)]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}\n")
    with dispatching(LambdaDispatcher({"siesa-integration-page": per_page})):
        function = _function(_boto, "siesa-integration-page")
        execution_input = {
            "client_id": "cliente-a",
            "run_id": "20250115T100000Z-3f9a1c",
            "page_count": pages,
            "pages": keys if pages <= 4 else [],
            "prefix": PREFIX,
            "concurrency": 2,
        }
        described = _execute(_boto, _definition(function, threshold=4), execution_input)

    assert described["status"] == "SUCCEEDED", described
    assert sorted(event["page_key"] for event in seen) == keys
    assert {(event["client_id"], event["run_id"]) for event in seen} == {
        ("cliente-a", "20250115T100000Z-3f9a1c")
    }
    assert json.loads(described["output"]) == execution_input  # nothing grew with the pages
