"""Runs you can open (issue 15), through the CLI on the local engine.

One client, one run that stops part way through the load (the loader
crashes after its first batch): its summary carries its sync type and what
it extracted and loaded before it failed; `siesa status` counts what it
loaded; `siesa run show|failed|logs|retry` open it; `siesa replay` re-maps
the copy the run saw, or pages the ERP's listing for its current copy.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_support import kong_client, worlds
from harness import ReliabilityEngine
from typer.testing import CliRunner

import ops
from cli.app import app

RECORDS = 60
PAGE = 10
BATCH = 50  # the harness loads in batches of 50


def siesa(engine: ReliabilityEngine, *args: str) -> Any:
    """`siesa ARGS` in process against the embedded AWS."""
    return CliRunner().invoke(app, [*args, "--endpoint-url", engine.aws.url])


def as_json(result: Any) -> dict[str, Any]:
    assert result.exit_code in (0, 3), result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture(scope="module")
def stopped(engine: ReliabilityEngine) -> Any:
    """A client whose initial run stopped after loading its first batch."""
    engine.injections.page_size = PAGE
    spec = kong_client("run-open", seed=61)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        engine.injections.crash_after_batches[world.client_id] = 1
        outcome = engine.sync(world.client_id, "initial")
        engine.injections.crash_after_batches.pop(world.client_id)
        yield world, outcome


def test_a_failed_run_says_its_sync_type_and_what_it_loaded_and_status_counts_that(
    engine: ReliabilityEngine, stopped: Any
) -> None:
    world, outcome = stopped
    assert outcome.status == "failed" and outcome.summary is None
    assert outcome.sync_type == "initial"
    assert outcome.records_extracted == RECORDS
    loaded = outcome.records_loaded
    assert loaded is not None and 0 < loaded <= BATCH
    assert len(world.held()) == loaded
    document = outcome.to_json()
    assert (document["sync_type"], document["records_loaded"]) == ("initial", loaded)

    status = as_json(siesa(engine, "status", "--client", world.client_id, "--json"))
    (entry,) = status["clients"]
    assert entry["last_sync"]["status"] == "failed"
    assert entry["last_sync"]["records"] == loaded
    assert entry["runs"][0]["records_loaded"] == loaded
    table = siesa(engine, "status", "--client", world.client_id)
    assert "loaded" in table.stdout


def test_run_show_and_failed_open_the_run(engine: ReliabilityEngine, stopped: Any) -> None:
    world, outcome = stopped
    run_id = outcome.run_id
    shown = as_json(siesa(engine, "run", "show", run_id, "--json"))
    assert (shown["client_id"], shown["sync_type"], shown["status"]) == (
        world.client_id,
        "initial",
        "failed",
    )
    assert shown["records"]["extracted"] == RECORDS
    assert shown["records"]["loaded"] == outcome.records_loaded
    stages = {stage["stage"]: stage["outcome"] for stage in shown["stages"]}
    assert stages == {"extract": "done", "transform": "done", "load": "failed"}
    assert shown["watermark"]["moved"] is False and shown["watermark"]["before"] is None
    text = siesa(engine, "run", "show", run_id, "--client", world.client_id)
    assert text.exit_code == 0 and "next step: siesa run logs" in text.stdout

    first = as_json(siesa(engine, "run", "failed", run_id, "--json", "--page-size", "4"))
    not_loaded = RECORDS - (outcome.records_loaded or 0)
    assert first["total"] == not_loaded and len(first["records"]) == 4
    assert first["pages"] == -(-not_loaded // 4)
    last = as_json(
        siesa(engine, "run", "failed", run_id, "--json", "--page-size", "4", "--page", "99")
    )
    assert last["records"] == []
    everything = as_json(siesa(engine, "run", "failed", run_id, "--json", "--page-size", "1000"))
    ids = [record["id"] for record in everything["records"]]
    assert len(ids) == len(set(ids)) == not_loaded
    mapping = [record for record in everything["records"] if record["stage"] == "mapping"]
    for record in mapping:  # the mapping's issues carry their field and value
        assert record["fields"] and all(item["field"] for item in record["fields"])

    unknown = siesa(engine, "run", "show", "20200101T000000Z-000000")
    assert unknown.exit_code == 1 and "no run 20200101T000000Z-000000" in unknown.output


def test_run_logs_reads_the_runs_lines_from_the_engines_log_groups(
    engine: ReliabilityEngine, stopped: Any
) -> None:
    world, outcome = stopped
    logs = as_json(siesa(engine, "run", "logs", outcome.run_id, "--json"))
    lines = logs["lines"]
    assert {line["component"] for line in lines} == {"extractor", "transformer", "loader"}
    messages = [line["message"] for line in lines]
    assert messages.index("Starting data extraction") < messages.index("Starting load")
    assert any(line["level"] == "ERROR" for line in lines)  # the crash is logged
    assert world.product_key not in json.dumps(logs)
    text = siesa(engine, "run", "logs", outcome.run_id)
    assert "Starting load" in text.stdout


def test_replay_remaps_the_runs_copy_or_pages_the_erp_and_retry_keeps_the_sync_type(
    engine: ReliabilityEngine, stopped: Any
) -> None:
    world, outcome = stopped
    run_id = outcome.run_id
    args = ("replay", "--client", world.client_id, "--run", run_id, "--json")
    from_run = as_json(siesa(engine, *args))
    assert from_run["copy"] == "run" and from_run["erp_pages"] == 0
    assert {record["copy"] for record in from_run["records"]} <= {"run", "none"}
    assert from_run["passed"] > 0
    text = siesa(engine, "replay", "--client", world.client_id, "--run", run_id)
    assert "copy used: the run's extracted copy" in text.stdout

    from_erp = as_json(siesa(engine, *args, "--copy", "erp"))
    assert from_erp["copy"] == "erp"
    assert 1 <= from_erp["erp_pages"] <= -(-RECORDS // PAGE)  # pages, not one call per record

    started = as_json(siesa(engine, "run", "retry", run_id, "--json"))
    assert (started["sync_type"], started["retry_of"]) == ("initial", run_id)
    again = ops.wait(started["execution_arn"], deployment=engine.deployment, poll_seconds=0.2)
    assert again.status in ("success", "partial")
