"""Logs in the design document's shape, EMF metrics, and the scrubbing of secret values."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from runtime import observability
from runtime.observability import (
    LatencyRecorder,
    failed_share,
    lambda_entry,
    logger,
    redact,
    register_secret,
    success_rate,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

CANARY = 'cAnArY-"quoted"-ñ-4d2f'


@pytest.fixture(autouse=True)
def _clean_secrets() -> Iterator[None]:
    observability.forget_secrets()
    yield
    observability.forget_secrets()


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _logs(text: str) -> list[dict[str, Any]]:
    return [line for line in _lines(text) if "_aws" not in line]


def _emf(text: str) -> list[dict[str, Any]]:
    return [line for line in _lines(text) if "_aws" in line]


def test_log_lines_have_the_design_documents_keys(capsys: pytest.CaptureFixture[str]) -> None:
    @lambda_entry("extractor")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        observability.bind_run("extractor", "cliente-a", "incremental", "20250115T100000Z-3f9a1c")
        logger.info("Starting data extraction", extra={"metadata": {"sync_type": "incremental"}})
        return {}

    handler({}, None)
    (line,) = _logs(capsys.readouterr().out)
    assert list(line)[:7] == [
        "timestamp",
        "level",
        "client_id",
        "component",
        "run_id",
        "message",
        "metadata",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])
    assert (line["level"], line["client_id"], line["component"], line["run_id"]) == (
        "INFO",
        "cliente-a",
        "extractor",
        "20250115T100000Z-3f9a1c",
    )
    assert line["message"] == "Starting data extraction"
    assert line["metadata"]["sync_type"] == "incremental"
    assert line["metadata"]["service"] == "siesa-integration"
    assert (
        line["metadata"]["function_name"] == "siesa-integration-extractor"
    )  # LocalContext stood in


def test_registered_secrets_are_scrubbed_in_every_form(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    register_secret(CANARY, SecretStr("second-secret-value"), None, "abc")
    logger.info(
        f"message with {CANARY}",
        extra={
            "metadata": {
                "nested": {"value": CANARY},
                "other": "second-secret-value",
                "short": "abc",
            }
        },
    )
    output = capsys.readouterr().out
    assert CANARY not in output
    assert json.dumps(CANARY)[1:-1] not in output
    assert json.dumps(CANARY, ensure_ascii=True)[1:-1] not in output
    assert "second-secret-value" not in output
    (line,) = _logs(output)
    assert line["message"] == "message with [redacted]"
    assert line["metadata"]["nested"] == {"value": "[redacted]"}
    assert line["metadata"]["short"] == "abc"  # too short to be treated as a secret
    assert caplog.records and CANARY not in caplog.text  # other handlers get scrubbed records too
    assert all(CANARY not in str(record.__dict__) for record in caplog.records)


def test_secret_models_in_extras_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    logger.info(
        "credentials loaded", extra={"metadata": {"key": SecretStr("unregistered-value-123")}}
    )
    output = capsys.readouterr().out
    assert "unregistered-value-123" not in output
    assert _logs(output)[0]["metadata"]["key"] == "**********"


def test_errors_are_logged_and_their_messages_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    register_secret(CANARY)

    @lambda_entry("loader")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            raise KeyError(f"inner {CANARY}")
        except KeyError as inner:
            raise RuntimeError(f"outer {CANARY}") from inner

    with pytest.raises(RuntimeError) as caught:
        handler({}, None)
    assert CANARY not in str(caught.value)
    assert CANARY not in str(caught.value.__cause__)
    output = capsys.readouterr().out
    assert CANARY not in output
    (line,) = _logs(output)
    assert line["level"] == "ERROR" and line["exception_name"] == "RuntimeError"
    assert line["metadata"]["action"] == "stop"
    assert "outer [redacted]" in line["exception"]


def test_run_metrics_are_emf_with_the_design_dimensions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "test")

    @lambda_entry("loader")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        observability.bind_run("loader", "cliente-a", "initial", "20250115T100000Z-3f9a1c")
        observability.record_run_outcome(
            records_processed=10, records_failed=2, duration_seconds=4.5, status="partial"
        )
        return {}

    handler({}, None)
    (record,) = _emf(capsys.readouterr().out)
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "SiesaIntegration"
    assert directive["Dimensions"] == [["ClientId", "SyncType", "Environment"]]
    assert {metric["Name"] for metric in directive["Metrics"]} == {
        "SyncDuration",
        "RecordsProcessed",
        "RecordsFailed",
        "SyncSuccessRate",
        "FailedRecordsShare",
    }
    assert (record["ClientId"], record["SyncType"], record["Environment"]) == (
        "cliente-a",
        "initial",
        "test",
    )
    assert record["RecordsFailed"] == [2.0] and record["SyncSuccessRate"] == [80.0]
    assert record["FailedRecordsShare"] == [20.0]
    units = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    assert units["FailedRecordsShare"] == "Percent"


def test_api_latency_is_emitted_per_api_in_chunks(capsys: pytest.CaptureFixture[str]) -> None:
    recorder = LatencyRecorder()
    for _ in range(150):
        recorder.add("Siesa", 0.25)
    recorder.add("Kong", 0.1)
    recorder.emit("cliente-a", "incremental")
    records = _emf(capsys.readouterr().out)
    by_api = {(r["Api"], len(r["APILatency"])) for r in records}
    assert by_api == {("Siesa", 100), ("Siesa", 50), ("Kong", 1)}
    assert all(
        r["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        == [["ClientId", "SyncType", "Environment", "Api"]]
        for r in records
    )
    assert records[0]["APILatency"][0] == 250.0
    recorder.emit("cliente-a", "incremental")
    assert _emf(capsys.readouterr().out) == []


def test_failed_share() -> None:
    assert failed_share(200, 13) == 6.5
    assert failed_share(3, 1) == 33.33
    assert failed_share(0, 0) == 0.0


def test_success_rate() -> None:
    assert success_rate("success", 10, 0) == 100.0
    assert success_rate("failed", 10, 10) == 0.0
    assert success_rate("partial", 3, 1) == 66.67


def test_redact_leaves_text_without_secrets_alone() -> None:
    register_secret("topsecret")
    assert redact("nothing to hide") == "nothing to hide"
    assert redact("topsecret and topsecret") == "[redacted] and [redacted]"


def test_redact_also_replaces_the_callers_own_secrets_of_any_length() -> None:
    register_secret("topsecret")
    assert (
        redact("key abc, abc, xyz and topsecret", ["abc", "", "xyz"])
        == "key [redacted], [redacted], [redacted] and [redacted]"
    )


def test_a_real_lambda_context_reaches_the_logs(capsys: pytest.CaptureFixture[str]) -> None:
    class Context:
        function_name = "siesa-integration-loader"
        memory_limit_in_mb = 512
        invoked_function_arn = (
            "arn:aws:lambda:us-east-1:224874703567:function:siesa-integration-loader"
        )
        aws_request_id = "req-123"

    @lambda_entry("loader")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("hello")
        return {"ok": True}

    assert handler({}, Context()) == {"ok": True}
    (line,) = _logs(capsys.readouterr().out)
    assert line["component"] == "loader"
    assert line["metadata"]["function_request_id"] == "req-123"
    assert line["metadata"]["function_memory_size"] == 512
