"""The pure cores of `siesa run` and `siesa status`: stage times, loaded counts, a run's log lines."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from moto.logs.models import logs_backends

from local.log_sink import LogGroupSink
from ops.run_counts import records_loaded
from ops.runs import log_group, run_log_line, stage_times

RUN = "20250115T100000Z-3e81a7"


def outcomes(item: dict[str, Any]) -> dict[str, str]:
    return {stage.name: stage.outcome for stage in stage_times(item)}


def test_a_run_that_failed_in_the_load_shows_where_it_stopped_and_how_long_each_stage_took() -> (
    None
):
    item = {
        "status": "failed",
        "started_at": "2025-01-15T10:00:00Z",
        "extracted_at": "2025-01-15T10:00:04Z",
        "transformed_at": "2025-01-15T10:00:05.5Z",
        "finished_at": "2025-01-15T10:00:09Z",
    }
    stages = stage_times(item)
    assert [(s.name, s.outcome, s.seconds) for s in stages] == [
        ("extract", "done", 4.0),
        ("transform", "done", 1.5),
        ("load", "failed", 3.5),
    ]
    extract_failed = {"status": "failed", "started_at": item["started_at"], "finished_at": "x"}
    assert outcomes(extract_failed) == {
        "extract": "failed",
        "transform": "not reached",
        "load": "not reached",
    }
    running = {"status": "running", "started_at": item["started_at"]}
    assert outcomes(running)["extract"] == "running"


@pytest.mark.parametrize(
    ("item", "loaded"),
    [
        ({"status": "failed", "records_loaded": 300, "transformed_at": "t"}, 300),
        ({"status": "failed", "extracted_count": 980}, 0),  # never reached the loader
        ({"status": "success", "records_processed": 10, "records_failed": 2}, 8),
        ({"status": "failed", "transformed_at": "t"}, None),  # an older item cannot say
        (None, None),
    ],
)
def test_loaded_means_reached_the_product(item: dict[str, Any] | None, loaded: int | None) -> None:
    assert records_loaded(item) == loaded


def test_only_the_runs_own_structured_lines_are_its_log_lines() -> None:
    line = {"timestamp": "t", "level": "INFO", "client_id": "c1", "component": "loader"}
    mine = json.dumps({**line, "run_id": RUN, "message": "Starting load", "metadata": {"n": 1}})
    found = run_log_line(mine, "c1", RUN)
    assert found is not None and (found.message, found.metadata) == ("Starting load", {"n": 1})
    other_client = json.dumps({**line, "client_id": "c2", "run_id": RUN, "message": "x"})
    assert run_log_line(other_client, "c1", RUN) is None
    assert run_log_line("START RequestId: 1 " + RUN, "c1", RUN) is None


def test_the_local_sink_puts_a_stage_line_in_its_functions_log_group() -> None:
    sink = LogGroupSink("123456789012", "eu-west-3")
    line = json.dumps({"component": "extractor", "run_id": RUN, "message": "m"})
    assert sink.write_line(line)
    assert not sink.write_line(json.dumps({"message": "no stage"}))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain text", None, None)
    sink.setFormatter(logging.Formatter("%(message)s"))
    sink.emit(record)  # not JSON: skipped, never raised
    backend = logs_backends["123456789012"]["eu-west-3"]
    events = backend.groups[log_group("extractor")].streams[sink.stream].events
    assert [event.message for event in events] == [line]
