"""infra/statemachine.asl.json executing on the embedded AWS, Lambda tasks in this process."""

from __future__ import annotations

import json
from typing import Any

from local_engine_helpers import Engine, extracted, per_page, summary, transformed

from runtime.errors import (
    ClientNotFound,
    MappingBundleError,
    ProductAuthError,
    SiesaAuthError,
    SiesaUnavailable,
)

RUN_ID = "20250115T100000Z-3f9a1c"


def test_success_passes_each_output_on_and_logs_the_loader_status(workflow: Engine) -> None:
    workflow.add_client("cliente-a")
    execution_input = {"client_id": "cliente-a", "sync_type": "incremental", "run_id": RUN_ID}

    described = workflow.run(execution_input, name=RUN_ID)

    assert described["status"] == "SUCCEEDED"
    # the extractor is told its execution: the run lease names it
    lease = {"execution_arn": described["executionArn"]}
    assert workflow.extractor.events == [{**execution_input, "lease": lease}]
    extractor_output = extracted(execution_input)
    # the Map state hands each listed page to the transformer, then its output to the loader;
    # then the retried records go the same way, and the finish step ends the run
    page = per_page(extractor_output, "page", extractor_output["extracted_pages"][0])
    retried = per_page(extractor_output, "retried")
    assert workflow.transformer.events == [page, retried]
    assert workflow.loader.events == [
        transformed(page),
        transformed(retried),
        per_page(extractor_output, "finish"),
    ]
    # the execution's output is the finish step's summary, unchanged by LogSuccess
    assert json.loads(described["output"]) == summary(workflow.loader.events[-1])
    item = workflow.client_item("cliente-a")
    assert item is not None
    assert item["last_sync_status"] == {"S": "success"}
    assert item["last_sync_timestamp"] == {"S": "2025-01-15T10:05:00Z"}
    assert item["last_sync_records"] == {"N": "3"}
    assert workflow.visited(described["executionArn"]) == [
        "StartRun",
        "ExtractFromSiesa",
        "CheckLease",
        "HowToMap",
        "MapPages",
        "TransformPage",
        "LoadPage",
        "PageDone",
        "TransformRetried",
        "LoadRetried",
        "FinishRun",
        "CheckLoadStatus",
        "LogSuccess",
        "ReleaseLease",
        "Done",
    ]
    assert workflow.alerts() == []


def test_a_partial_load_is_logged_as_partial(workflow: Engine) -> None:
    workflow.add_client("cliente-b")
    workflow.loader.behaviour = lambda event, attempt: summary(event, "partial", failed=1)

    described = workflow.run({"client_id": "cliente-b", "sync_type": "initial"})

    assert described["status"] == "SUCCEEDED"
    item = workflow.client_item("cliente-b")
    assert item is not None
    assert item["last_sync_status"] == {"S": "partial"}
    assert item["last_sync_records"] == {"N": "2"}
    assert workflow.alerts() == []


ALERT = {
    "share_percent": 66.67,
    "threshold_percent": 5.0,
    "reasons": [{"reason": "ean: is not a valid EAN-13", "records": 2}],
    "subject": "Siesa integration: 66.67% of records failed for cliente-h",
    "message": "Client cliente-h (Empresa H): 2 of 3 records in scope failed (66.67%) ...",
}


def test_a_failed_records_alert_is_published_once_then_the_outcome_logged(
    workflow: Engine,
) -> None:
    workflow.add_client("cliente-h")
    workflow.loader.behaviour = lambda event, attempt: summary(event, "partial", 2, ALERT)

    described = workflow.run({"client_id": "cliente-h", "sync_type": "initial"})

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == summary(
        workflow.loader.events[-1], "partial", 2, ALERT
    )
    assert workflow.visited(described["executionArn"])[-5:] == [
        "CheckLoadStatus",
        "NotifyFailedRecords",
        "LogSuccess",
        "ReleaseLease",
        "Done",
    ]
    alert = _only_alert(workflow)
    assert (alert["Subject"], alert["Message"]) == (ALERT["subject"], ALERT["message"])
    item = workflow.client_item("cliente-h")
    assert item is not None and item["last_sync_status"] == {"S": "partial"}


def test_a_failed_load_sends_the_failure_alert_and_not_the_failed_records_one(
    workflow: Engine,
) -> None:
    workflow.add_client("cliente-i")
    workflow.loader.behaviour = lambda event, attempt: summary(event, "failed", 3, ALERT)

    described = workflow.run({"client_id": "cliente-i", "sync_type": "initial"})

    assert described["status"] == "FAILED"
    assert "NotifyFailedRecords" not in workflow.visited(described["executionArn"])
    assert "Error: LoadFailed" in _only_alert(workflow)["Message"]


def test_a_summary_without_the_alert_field_goes_straight_to_logging(workflow: Engine) -> None:
    workflow.add_client("cliente-j")

    def older_loader(event: dict[str, Any], attempt: int) -> dict[str, Any]:
        made = summary(event, "partial", 1)
        del made["failed_records_alert"]
        return made

    workflow.loader.behaviour = older_loader

    described = workflow.run({"client_id": "cliente-j", "sync_type": "initial"})

    assert described["status"] == "SUCCEEDED"
    assert "NotifyFailedRecords" not in workflow.visited(described["executionArn"])
    assert workflow.alerts() == []


def _raise(error: Exception) -> Any:
    def behaviour(event: dict[str, Any], attempt: int) -> Any:
        raise error

    return behaviour


def _only_alert(workflow: Engine) -> dict[str, Any]:
    alerts = workflow.alerts()
    assert len(alerts) == 1, alerts
    return alerts[0]


def test_siesa_auth_error_is_not_retried_and_alerts(workflow: Engine) -> None:
    workflow.add_client("cliente-c")
    workflow.extractor.behaviour = _raise(
        SiesaAuthError("Siesa refused the credentials (HTTP 401)")
    )

    described = workflow.run({"client_id": "cliente-c", "sync_type": "incremental"}, name="auth-1")

    assert len(workflow.extractor.events) == 1
    assert workflow.transformer.events == []
    assert described["status"] == "FAILED"
    assert described["error"] == "SiesaAuthError"
    assert workflow.visited(described["executionArn"]) == [
        "StartRun",
        "ExtractFromSiesa",
        "NotifyFailure",
        "RecordFailure",
        "LogFailureWithoutRunId",
        "ReleaseLeaseAfterFailure",
        "SyncFailed",
    ]
    alert = _only_alert(workflow)
    assert alert["Subject"] == "Siesa integration failed for cliente-c"
    assert alert["Message"].startswith(
        "Integration failed for client cliente-c (execution auth-1). Error: SiesaAuthError. Cause: "
    )
    assert "Siesa refused the credentials (HTTP 401)" in alert["Message"]
    item = workflow.client_item("cliente-c")
    assert item is not None
    assert item["last_sync_status"] == {"S": "failed"}
    assert item["last_sync_timestamp"]["S"].startswith("20")


def test_product_auth_error_is_not_retried_and_alerts(workflow: Engine) -> None:
    workflow.add_client("cliente-d")
    workflow.loader.behaviour = _raise(ProductAuthError("WMS refused the API key (HTTP 401)"))

    described = workflow.run({"client_id": "cliente-d", "sync_type": "incremental"})

    # the page's load, not retried; then the stopped run's gathering (which raised too)
    assert [event["mode"] for event in workflow.loader.events] == ["page", "finish"]
    assert "error" in workflow.loader.events[1]
    assert described["status"] == "FAILED"
    assert described["error"] == "ProductAuthError"
    alert = _only_alert(workflow)
    assert "client cliente-d" in alert["Message"]
    assert "Error: ProductAuthError" in alert["Message"]
    item = workflow.client_item("cliente-d")
    assert item is not None
    assert item["last_sync_status"] == {"S": "failed"}
    # after extraction the run is known: the failure is recorded under it
    assert item["last_sync_run_id"] == {"S": RUN_ID}
    assert "RecordFailure" in workflow.visited(described["executionArn"])
    assert "LogFailureWithoutRunId" not in workflow.visited(described["executionArn"])


def test_a_transient_error_is_retried_then_succeeds(workflow: Engine) -> None:
    workflow.add_client("cliente-e")

    def flaky(event: dict[str, Any], attempt: int) -> Any:
        if attempt == 1:
            raise SiesaUnavailable("Siesa answered 503")
        return extracted(event)

    workflow.extractor.behaviour = flaky

    described = workflow.run({"client_id": "cliente-e", "sync_type": "incremental"})

    assert described["status"] == "SUCCEEDED"
    assert len(workflow.extractor.events) == 2
    assert workflow.extractor.events[0] == workflow.extractor.events[1]
    assert [event["mode"] for event in workflow.loader.events] == ["page", "retried", "finish"]
    item = workflow.client_item("cliente-e")
    assert item is not None
    assert item["last_sync_status"] == {"S": "success"}
    assert workflow.alerts() == []


def test_a_load_that_failed_every_record_alerts_and_fails(workflow: Engine) -> None:
    workflow.add_client("cliente-f")
    workflow.loader.behaviour = lambda event, attempt: summary(event, "failed", failed=3)

    described = workflow.run({"client_id": "cliente-f", "sync_type": "incremental"})

    assert described["status"] == "FAILED"
    assert described["error"] == "LoadFailed"
    assert described["cause"] == "3 of 3 records did not reach the product"
    alert = _only_alert(workflow)
    assert "Error: LoadFailed. Cause: 3 of 3 records did not reach the product" in alert["Message"]
    item = workflow.client_item("cliente-f")
    assert item is not None
    assert item["last_sync_status"] == {"S": "failed"}


def test_an_unknown_client_alerts_without_creating_an_item(workflow: Engine) -> None:
    workflow.extractor.behaviour = _raise(ClientNotFound("no client 'cliente-x'"))

    described = workflow.run({"client_id": "cliente-x", "sync_type": "incremental"})

    assert described["status"] == "FAILED"
    assert described["error"] == "ClientNotFound"
    assert "client cliente-x" in _only_alert(workflow)["Message"]
    assert workflow.client_item("cliente-x") is None


def test_the_alert_carries_only_client_execution_error_and_cause(workflow: Engine) -> None:
    """Nothing else of the workflow state reaches SNS (fields here stand in for any data)."""
    workflow.add_client("cliente-g")
    canary = "canary-7f3e9a0c51"
    workflow.extractor.behaviour = lambda event, attempt: (
        extracted(event)
        | {
            "watermark": canary,
            "extracted_pages": [f"runs/{canary}.ndjson"],
        }
    )
    workflow.transformer.behaviour = _raise(MappingBundleError("no mapping 'kong' in the bundle"))

    described = workflow.run({"client_id": "cliente-g", "sync_type": "incremental"}, name="leak-1")

    assert described["status"] == "FAILED"
    message = _only_alert(workflow)["Message"]
    cause = json.dumps(
        {"errorType": "MappingBundleError", "errorMessage": "no mapping 'kong' in the bundle"},
        separators=(",", ":"),
    )
    assert message == (
        "Integration failed for client cliente-g (execution leak-1). "
        f"Error: MappingBundleError. Cause: {cause}"
    )
    assert canary not in message


def test_an_unexpected_exception_is_caught_by_its_class_name(workflow: Engine) -> None:
    workflow.add_client("cliente-h")
    workflow.loader.behaviour = _raise(KeyError("records_processed"))

    described = workflow.run({"client_id": "cliente-h", "sync_type": "incremental"})

    assert described["status"] == "FAILED"
    assert described["error"] == "KeyError"
    assert [event["mode"] for event in workflow.loader.events] == ["page", "finish"]


NEWER_RUN = "20990101T000000Z-ffffff"


def test_an_older_run_finishing_late_leaves_the_newer_status(workflow: Engine) -> None:
    workflow.add_client("cliente-i", last_sync_run_id=NEWER_RUN, last_sync_status="success")

    described = workflow.run({"client_id": "cliente-i", "sync_type": "incremental"})

    assert described["status"] == "SUCCEEDED"
    assert workflow.visited(described["executionArn"])[-4:] == [
        "LogSuccess",
        "NewerRunRecorded",
        "ReleaseLease",
        "Done",
    ]
    item = workflow.client_item("cliente-i")
    assert item is not None
    assert item["last_sync_run_id"] == {"S": NEWER_RUN}
    assert "last_sync_records" not in item
    assert workflow.alerts() == []


def test_an_older_run_failing_late_alerts_but_leaves_the_newer_status(workflow: Engine) -> None:
    workflow.add_client("cliente-j", last_sync_run_id=NEWER_RUN, last_sync_status="success")
    workflow.loader.behaviour = _raise(ProductAuthError("Kong refused the API key (HTTP 403)"))

    described = workflow.run({"client_id": "cliente-j", "sync_type": "incremental"})

    assert described["status"] == "FAILED"
    assert described["error"] == "ProductAuthError"
    assert "client cliente-j" in _only_alert(workflow)["Message"]
    item = workflow.client_item("cliente-j")
    assert item is not None
    assert item["last_sync_status"] == {"S": "success"}
