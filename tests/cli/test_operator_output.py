"""Operator output: JSON errors and schema_version, next-step lines, readable times and causes.

Pure and in-process (no AWS): a tiny command declares the shared `--json`
flag and raises what the real commands raise, so every command that uses
cli/common.py gets the same behaviour.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from cli.common import JsonFlag, operator_errors, print_json
from ops.advice import RunContext, after_sync, next_step_for
from ops.render import client_detail
from ops.sync import StartedSync, read_progress
from runtime.config_store import platform_time
from runtime.errors import ProductAuthError, SiesaAuthError
from runtime.http.api import Failure, host_of

demo = typer.Typer()


@demo.command("fail")
def _fail(
    kind: str = "product",
    json_output: JsonFlag = False,
) -> None:
    """Raise a refused credential for client c1, as a sync or reconcile would."""
    with operator_errors("c1"):
        if kind == "siesa":
            raise SiesaAuthError("Siesa GET /inventory/products answered 401: unauthorized")
        raise ProductAuthError("Kong POST /products/bulk answered 401: invalid key")


@demo.command("ok")
def _ok(json_output: JsonFlag = False) -> None:
    """Print a document the way every --json command does."""
    print_json({"client_id": "c1"})


def test_an_error_under_json_is_one_json_document_on_stdout_with_the_exit_code() -> None:
    result = CliRunner().invoke(demo, ["fail", "--json"])
    assert result.exit_code == 1
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["schema_version"] == 1
    error = document["error"]
    assert error["type"] == "ProductAuthError" and error["exit_code"] == 1
    assert "answered 401" in error["message"]
    assert "siesa-integration/c1/<product_type>" in error["next_step"]
    assert "siesa client set-credentials c1 --product FILE" in error["next_step"]


def test_without_json_the_error_and_its_next_step_go_to_stderr_and_json_mode_ends() -> None:
    runner = CliRunner()
    assert runner.invoke(demo, ["fail", "--json"]).exit_code == 1
    result = runner.invoke(demo, ["fail", "--kind", "siesa"])
    assert result.exit_code == 1 and result.stdout == ""
    error, step = result.stderr.strip().splitlines()
    assert error.startswith("error: Siesa GET /inventory/products answered 401")
    assert step == (
        "next step: the credentials in secret siesa-integration/c1/siesa were refused; "
        "replace them: siesa client set-credentials c1 --siesa FILE"
    )


def test_every_json_document_carries_the_schema_version_first() -> None:
    result = CliRunner().invoke(demo, ["ok", "--json"])
    assert list(json.loads(result.stdout)) == ["schema_version", "client_id"]


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        ("success", None, None),
        ("failed", "ProductAuthError", "secret siesa-integration/c1/kong"),
        ("failed", "ProductUnavailable", "siesa sync --client c1 --sync-type initial --wait"),
        ("failed", "States.Timeout", "siesa status --client c1"),
        ("partial", None, "siesa replay --client c1 --run r1"),
        ("refused", "RunInProgress", "siesa status --client c1"),
    ],
)
def test_every_failure_summary_ends_with_a_next_step(
    status: str, error: str | None, expected: str | None
) -> None:
    run = RunContext(product_type="kong", run_id="r1", sync_type="initial")
    step = after_sync(status, error, "c1", run)
    if expected is None:
        assert step is None
    else:
        assert step is not None and expected in step


def test_a_replay_with_records_still_failing_says_to_fix_them_and_replay_again() -> None:
    from ops.advice import after_replay

    assert after_replay("c1", "r1", 0) is None
    step = after_replay("c1", "r1", 2)
    assert step is not None and step.startswith("2 record(s) still fail")
    assert step.endswith("siesa replay --client c1 --run r1 again")


def test_errors_without_specific_advice_get_none_and_disabled_clients_get_enable() -> None:
    assert next_step_for("ClientDisabled", "c1") == "siesa client enable c1"
    assert next_step_for("InputError", "c1") is None


def _event(kind: str, **details: Any) -> dict[str, Any]:
    return {"type": kind, **details}


def test_progress_during_retries_says_why_the_last_attempt_failed() -> None:
    started = StartedSync("arn:x", "c1", "r1", "initial", datetime(2026, 1, 1, tzinfo=UTC))
    cause = json.dumps(
        {
            "errorType": "ProductUnavailable",
            "errorMessage": "Kong POST /api/v1/products/bulk at 127.0.0.1:9: connection failed",
        }
    )
    events = [
        _event("TaskStateEntered", stateEnteredEventDetails={"name": "LoadToProduct"}),
        _event(
            "LambdaFunctionFailed", lambdaFunctionFailedEventDetails={"error": "X", "cause": "y"}
        ),
        _event(
            "LambdaFunctionFailed",
            lambdaFunctionFailedEventDetails={"error": "ProductUnavailable", "cause": cause},
        ),
    ]
    progress = read_progress(events, started, "RUNNING", datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    text = progress.describe()
    assert text.startswith("loading into the product, 2 attempt(s) failed; last: ")
    assert text.endswith(
        "ProductUnavailable: Kong POST /api/v1/products/bulk at 127.0.0.1:9: connection failed"
    )


def test_a_connection_failure_names_the_host_and_never_the_userinfo() -> None:
    assert host_of("https://user:pw@erp.example.com:8443/api/v1") == "erp.example.com:8443"
    assert host_of("https://erp.example.com/api") == "erp.example.com"
    failure = Failure(
        "GET /x",
        "connection",
        None,
        "ConnectError: name or service not known",
        host="erp.example.com",
    )
    assert failure.describe("Siesa") == (
        "Siesa GET /x at erp.example.com: connection failed: ConnectError: name or service not known"
    )


def test_platform_times_are_iso_utc_with_z() -> None:
    bogota = timezone(timedelta(hours=-5))
    assert (
        platform_time(datetime(2026, 1, 1, 7, 0, 0, 123456, tzinfo=bogota))
        == "2026-01-01T12:00:00Z"
    )
    assert platform_time(datetime(2026, 1, 1, 7, 0, 0)) == "2026-01-01T07:00:00Z"
    assert platform_time("yesterday") is None


def test_client_detail_shows_the_rule_input_as_json_and_labels_the_erp_watermark() -> None:
    from ops import ClientView
    from ops.schedule import Schedule
    from runtime.config import ClientConfig

    config = ClientConfig.model_validate(
        {
            "client_id": "c1",
            "client_name": "C1",
            "product_type": "kong",
            "siesa_api_url": "http://127.0.0.1:1/api/v1",
            "product_api_url": "http://127.0.0.1:2/api/v1",
            "sync_schedule": "rate(6 hours)",
            "last_sync_watermark": "2026-01-01T07:00:00-05:00",
        }
    )
    schedule = Schedule(
        rule_name="siesa-sync-c1",
        expression="rate(6 hours)",
        enabled=True,
        target_arn="arn:sfn",
        role_arn="arn:role",
        input={"client_id": "c1", "sync_type": "incremental"},
    )
    console = Console(width=200, record=True)
    console.print(client_detail(ClientView(config=config, schedule=schedule)))
    text = console.export_text()
    assert '{"client_id": "c1", "sync_type": "incremental"}' in text
    assert "last_sync_watermark (ERP local time)" in text
    assert "'client_id'" not in text


def test_map_preview_under_json_reports_a_file_that_does_not_compile_as_json(tmp_path: Any) -> None:
    from cli.app import app

    broken = tmp_path / "broken.map"
    broken.write_text("mapping broken for kong {\n  sku = \n}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["map", "preview", str(broken), "--client", "c1", "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "MapError"
    assert f"{broken}:" in error["message"] and "error:" in error["message"]


def test_progress_counts_the_pages_an_inline_map_state_mapped() -> None:
    started = StartedSync("arn:x", "c1", "r1", "initial", datetime(2026, 1, 1, tzinfo=UTC))
    events = [
        _event("MapStateEntered", stateEnteredEventDetails={"name": "MapPages"}),
        _event("MapStateStarted", mapStateStartedEventDetails={"length": 3}),
        _event("MapIterationSucceeded"),
        _event("MapIterationSucceeded"),
        _event("TaskStateEntered", stateEnteredEventDetails={"name": "TransformPage"}),
    ]
    progress = read_progress(events, started, "RUNNING", datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    assert progress.describe() == "mapping and loading pages (2 of 3)"
    assert progress.map_run_arn is None
