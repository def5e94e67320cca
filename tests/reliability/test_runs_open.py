"""Runs you can open (issue 15), through the CLI on the local engine.

One client, one run that stops part way through the load (the loader
crashes after its first batch): its summary carries its sync type and what
it extracted and loaded before it failed; `siesa status` counts what it
loaded; `siesa run show|failed|logs|retry` open it; `siesa replay` re-maps
the copy the run saw, or pages the ERP's listing for its current copy.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from e2e_support import kong_client, worlds
from harness import ReliabilityEngine
from rich.console import Console
from typer.testing import CliRunner

import ops
from cli.app import app
from ops.render import outcome_table
from ops.run_evidence import page_keys

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
    console = Console(file=io.StringIO(), width=200)
    console.print(outcome_table(outcome))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert re.search(r"sync type\s+│ initial", shown), shown
    assert re.search(rf"records loaded\s+│ {loaded}\b", shown), shown
    assert re.search(rf"records extracted\s+│ {RECORDS}\b", shown), shown

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


def test_a_run_id_two_clients_share_needs_client(engine: ReliabilityEngine, stopped: Any) -> None:
    world, outcome = stopped
    spec = kong_client("run-twin", seed=62)
    with worlds(spec, products=5) as running:
        engine.add(running[spec.client_id])
    engine.deployment.run_history().start(
        spec.client_id, outcome.run_id, sync_type="incremental", started_at="2026-01-01T00:00:00Z"
    )
    both = siesa(engine, "run", "show", outcome.run_id)
    assert both.exit_code == 1
    assert "several clients (run-open, run-twin); add --client ID" in both.output
    mine = as_json(
        siesa(engine, "run", "show", outcome.run_id, "--client", spec.client_id, "--json")
    )
    assert (mine["client_id"], mine["sync_type"]) == ("run-twin", "incremental")
    theirs = as_json(
        siesa(engine, "run", "show", outcome.run_id, "--client", world.client_id, "--json")
    )
    assert theirs["sync_type"] == "initial"
    engine.deployment.client("dynamodb").delete_item(
        TableName=engine.deployment.runs_table,
        Key={"client_id": {"S": spec.client_id}, "run_id": {"S": outcome.run_id}},
    )


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

    store = engine.deployment.run_store()
    for key in page_keys(store, f"runs/{world.client_id}/{run_id}/extracted/"):
        store.delete(key)  # the run's pages expired: only the ERP's copy is left
    expired = siesa(engine, "replay", "--client", world.client_id, "--run", run_id, "--copy", "run")
    assert expired.exit_code == 1 and "replay with --copy erp" in expired.output
    auto = as_json(siesa(engine, *args))
    assert auto["copy"] == "erp" and auto["erp_pages"] >= 1

    started = as_json(siesa(engine, "run", "retry", run_id, "--json"))
    assert (started["sync_type"], started["retry_of"]) == ("initial", run_id)
    again = ops.wait(started["execution_arn"], deployment=engine.deployment, poll_seconds=0.2)
    assert again.status in ("success", "partial")
