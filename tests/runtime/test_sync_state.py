"""Sync state: watermark rules, run history with conditional writes, last_sync_* on the client item."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runtime.config_store import ConfigStore
from runtime.errors import InvalidEvent
from runtime.sync_state import (
    RunHistory,
    SyncState,
    extraction_watermark,
    modified_since,
    parse_watermark,
    run_status,
    should_store_watermark,
)

OLD_RUN = "20250115T100000Z-aaaaaa"
NEW_RUN = "20250115T160000Z-bbbbbb"


def test_watermark_is_the_start_time_in_the_clients_zone() -> None:
    start = datetime(2025, 1, 15, 10, 0, 0, 987654, tzinfo=UTC)
    assert extraction_watermark(start, "America/Bogota") == "2025-01-15T05:00:00-05:00"
    assert extraction_watermark(start, "America/Mexico_City") == "2025-01-15T04:00:00-06:00"
    assert extraction_watermark(start, "UTC") == "2025-01-15T10:00:00+00:00"
    with pytest.raises(ValueError, match="aware"):
        extraction_watermark(datetime(2025, 1, 15, 10, 0), "America/Bogota")


def test_initial_extracts_everything_and_incremental_uses_the_stored_watermark(aws: Any) -> None:
    fresh = aws.put_client()
    assert modified_since(fresh, "initial") is None
    assert modified_since(fresh, "incremental") is None  # no watermark yet: everything
    synced = aws.put_client(last_sync_watermark="2025-01-15T05:00:00-05:00")
    assert modified_since(synced, "incremental") == "2025-01-15T05:00:00-05:00"
    assert modified_since(synced, "initial") is None


def test_only_a_finished_run_moves_the_watermark() -> None:
    assert should_store_watermark("success") and should_store_watermark("partial")
    assert not should_store_watermark("failed") and not should_store_watermark("running")


def test_run_status() -> None:
    assert run_status(10, 0) == "success"
    assert run_status(0, 0) == "success"
    assert run_status(10, 3) == "partial"
    assert run_status(10, 10) == "failed"


@pytest.mark.parametrize("bad", ["2025-01-15T05:00:00", "yesterday", 5, None])
def test_watermarks_from_events_need_an_offset(bad: Any) -> None:
    with pytest.raises(InvalidEvent, match="watermark"):
        parse_watermark(bad)


def test_run_history_lifecycle(aws: Any) -> None:
    history = RunHistory()
    history.start("cliente-a", OLD_RUN, sync_type="incremental", started_at="2025-01-15T10:00:00Z")
    history.update("cliente-a", OLD_RUN, extracted_count=12, modified_since=None)
    history.note_error("cliente-a", OLD_RUN, "SiesaUnavailable: 503")
    assert history.finish(
        "cliente-a", OLD_RUN, status="partial", finished_at="2025-01-15T10:05:00Z", records_failed=2
    )
    item = history.get("cliente-a", OLD_RUN)
    assert item is not None
    assert item["status"] == "partial"
    assert item["extracted_count"] == 12
    assert item["records_failed"] == 2
    assert item["last_error"] == "SiesaUnavailable: 503"
    assert (item["started_at"], item["finished_at"], item["sync_type"]) == (
        "2025-01-15T10:00:00Z",
        "2025-01-15T10:05:00Z",
        "incremental",
    )
    # an ended run cannot be ended again, nor restarted
    assert not history.fail("cliente-a", OLD_RUN, error=RuntimeError("late"), finished_at="x")
    assert history.get("cliente-a", OLD_RUN)["status"] == "partial"  # type: ignore[index]
    with pytest.raises(InvalidEvent, match="already ended"):
        history.start("cliente-a", OLD_RUN, sync_type="incremental", started_at="x")


def test_a_running_run_may_be_started_again_by_a_retry(aws: Any) -> None:
    history = RunHistory()
    history.start("cliente-a", OLD_RUN, sync_type="initial", started_at="2025-01-15T10:00:00Z")
    history.start("cliente-a", OLD_RUN, sync_type="initial", started_at="2025-01-15T10:00:00Z")
    assert history.get("cliente-a", OLD_RUN)["status"] == "running"  # type: ignore[index]


def test_a_transient_failure_ends_the_run_and_only_a_retry_of_it_resumes_it(aws: Any) -> None:
    history = RunHistory()
    history.start("cliente-a", OLD_RUN, sync_type="initial", started_at="2025-01-15T10:00:00Z")
    assert history.fail_retryable(
        "cliente-a", OLD_RUN, error="ProductUnavailable: 503", finished_at="2025-01-15T10:01:00Z"
    )
    item = history.get("cliente-a", OLD_RUN)
    assert item is not None and (item["status"], item["retryable"]) == ("failed", True)
    assert history.resume("cliente-a", OLD_RUN)
    item = history.get("cliente-a", OLD_RUN)
    assert item is not None and item["status"] == "running"
    assert "finished_at" not in item and "error" not in item and "retryable" not in item
    assert item["last_error"] == "ProductUnavailable: 503"
    assert not history.resume("cliente-a", OLD_RUN)  # already open
    assert history.finish("cliente-a", OLD_RUN, status="success", finished_at="t")
    assert not history.resume("cliente-a", OLD_RUN)  # a finished run stays finished
    history.start("cliente-a", NEW_RUN, sync_type="initial", started_at="t")
    assert history.fail("cliente-a", NEW_RUN, error="ProductAuthError: 401", finished_at="t")
    assert not history.resume("cliente-a", NEW_RUN)  # a run failed for good stays failed
    with pytest.raises(InvalidEvent, match="already ended"):
        history.start("cliente-a", NEW_RUN, sync_type="initial", started_at="t")


def test_listing_runs_newest_first(aws: Any) -> None:
    history = RunHistory()
    for run in (OLD_RUN, NEW_RUN, "20250115T130000Z-cccccc"):
        history.start("cliente-a", run, sync_type="incremental", started_at="t")
    assert [item["run_id"] for item in history.list("cliente-a", limit=2)] == [
        NEW_RUN,
        "20250115T130000Z-cccccc",
    ]


def test_errors_in_history_are_redacted_and_short(aws: Any) -> None:
    from runtime import observability

    observability.register_secret("s3cr3t-token")
    history = RunHistory()
    history.start("cliente-a", OLD_RUN, sync_type="incremental", started_at="t")
    history.fail(
        "cliente-a",
        OLD_RUN,
        error=RuntimeError("token s3cr3t-token " + "x" * 2000),
        finished_at="t2",
    )
    item = history.get("cliente-a", OLD_RUN)
    assert item is not None
    assert "s3cr3t-token" not in item["error"] and "[redacted]" in item["error"]
    assert len(item["error"]) == 1000


def test_a_finished_run_records_last_sync_and_the_watermark(aws: Any) -> None:
    aws.put_client()
    state = SyncState()
    state.history.start(
        "cliente-a", OLD_RUN, sync_type="incremental", started_at="2025-01-15T10:00:00Z"
    )
    state.finished(
        "cliente-a",
        OLD_RUN,
        status="partial",
        finished_at="2025-01-15T10:05:00Z",
        records_success=8,
        watermark="2025-01-15T05:00:00-05:00",
        records_processed=10,
    )
    config = ConfigStore().get("cliente-a")
    assert (config.last_sync_status, config.last_sync_records, config.last_sync_timestamp) == (
        "partial",
        8,
        "2025-01-15T10:05:00Z",
    )
    assert config.last_sync_watermark == "2025-01-15T05:00:00-05:00"
    assert state.history.get("cliente-a", OLD_RUN)["records_processed"] == 10  # type: ignore[index]


def test_a_failed_run_leaves_the_watermark_alone(aws: Any) -> None:
    aws.put_client(last_sync_watermark="2025-01-14T05:00:00-05:00")
    state = SyncState()
    state.history.start("cliente-a", OLD_RUN, sync_type="incremental", started_at="t")
    state.finished(
        "cliente-a",
        OLD_RUN,
        status="failed",
        finished_at="2025-01-15T10:05:00Z",
        records_success=0,
        watermark="2025-01-15T05:00:00-05:00",
    )
    config = ConfigStore().get("cliente-a")
    assert config.last_sync_status == "failed"
    assert config.last_sync_watermark == "2025-01-14T05:00:00-05:00"


def test_a_run_stopped_by_an_error(aws: Any) -> None:
    aws.put_client(last_sync_watermark="2025-01-14T05:00:00-05:00")
    state = SyncState()
    state.history.start("cliente-a", OLD_RUN, sync_type="incremental", started_at="t")
    state.failed("cliente-a", OLD_RUN, RuntimeError("Kong refused the key"))
    config = ConfigStore().get("cliente-a")
    assert config.last_sync_status == "failed" and config.last_sync_run_id == OLD_RUN
    assert config.last_sync_watermark == "2025-01-14T05:00:00-05:00"
    item = state.history.get("cliente-a", OLD_RUN)
    assert (
        item is not None and item["status"] == "failed" and "Kong refused the key" in item["error"]
    )


def test_an_older_run_finishing_late_does_not_move_the_watermark_back(aws: Any) -> None:
    aws.put_client()
    state = SyncState()
    for run in (OLD_RUN, NEW_RUN):
        state.history.start("cliente-a", run, sync_type="incremental", started_at="t")
    state.finished(
        "cliente-a",
        NEW_RUN,
        status="success",
        finished_at="2025-01-15T16:05:00Z",
        records_success=3,
        watermark="2025-01-15T11:00:00-05:00",
    )
    state.finished(
        "cliente-a",
        OLD_RUN,
        status="success",
        finished_at="2025-01-15T16:06:00Z",
        records_success=9,
        watermark="2025-01-15T05:00:00-05:00",
    )
    config = ConfigStore().get("cliente-a")
    assert config.last_sync_watermark == "2025-01-15T11:00:00-05:00"
    assert config.last_sync_run_id == NEW_RUN and config.last_sync_records == 3
    assert state.history.get("cliente-a", OLD_RUN)["status"] == "success"  # type: ignore[index]
