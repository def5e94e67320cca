"""One run per client at a time, on the local engine running the real workflow and handlers.

The ERP answers slowly (every request delayed), so a run holds the client's
run lease for a few seconds while others try to start:

- two manual starts released together from threads behind a barrier: one
  runs, the other is refused naming the first's run id;
- `siesa sync` while a run holds the lease: refused at once, exit 1, naming it;
- scheduled starts (the rule's input, no run id) while it runs: each is
  recorded in run history as `skipped` with the reason, and the second in a
  row publishes an alert;
- a run whose execution is stopped (its Catch never runs, the lease stays):
  the next start takes the lease over, ends the abandoned run, and runs.

Every run that took the lease releases it at its end.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from e2e_support import kong_client, worlds
from harness import ReliabilityEngine
from scenario import alerts_for, runs_of
from typer.testing import CliRunner

import ops
from cli.app import app
from local.demo_world import ClientWorld
from ops.errors import RunInProgress

RECORDS = 120
SLOW_MS = 1200
"""Every ERP request's delay: a run holds its lease for a few seconds."""


@contextmanager
def slow_client(engine: ReliabilityEngine, client_id: str, seed: int) -> Iterator[ClientWorld]:
    spec = kong_client(client_id, seed=seed)
    with worlds(spec, products=RECORDS) as running:
        world = running[spec.client_id]
        engine.add(world)
        world.siesa.faults.set(latency_ms=SLOW_MS)
        yield world


def lease_of(engine: ReliabilityEngine, client_id: str) -> dict[str, Any]:
    """The lease attributes of the client's item."""
    item = engine.deployment.client("dynamodb").get_item(
        TableName=engine.deployment.clients_table,
        Key={"client_id": {"S": client_id}},
        ConsistentRead=True,
    )["Item"]
    return {name: value for name, value in item.items() if name.startswith("lease_")}


def held_by(engine: ReliabilityEngine, client_id: str, deadline: float = 30.0) -> str:
    """The execution ARN holding the client's lease, once one does."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        lease = lease_of(engine, client_id)
        if "lease_execution" in lease:
            return str(lease["lease_execution"]["S"])
        time.sleep(0.05)
    raise AssertionError(f"no run of {client_id} took the lease in {deadline} s")


def follow(engine: ReliabilityEngine, started: ops.StartedSync | str) -> ops.SyncOutcome:
    return ops.wait(started, deployment=engine.deployment, poll_seconds=0.1, timeout_seconds=180)


def scheduled_start(engine: ReliabilityEngine, client_id: str) -> str:
    """What the client's EventBridge rule does: the workflow with the rule's input, no run id."""
    from ops.schedule import target_input

    response = engine.deployment.client("stepfunctions").start_execution(
        stateMachineArn=engine.deployment.state_machine_arn,
        name=str(uuid.uuid4()),  # EventBridge names its executions so: nothing of the client
        input=target_input(client_id),
    )
    return str(response["executionArn"])


def test_two_starts_released_together_one_runs_the_other_is_refused_naming_it(
    engine: ReliabilityEngine,
) -> None:
    with slow_client(engine, "lease-race", seed=61) as world:
        barrier = threading.Barrier(2)
        results: list[Any] = [None, None]

        def start(slot: int) -> None:
            barrier.wait()
            try:
                results[slot] = ops.start_sync(
                    world.client_id, "initial", deployment=engine.deployment
                )
            except RunInProgress as exc:
                results[slot] = exc

        threads = [threading.Thread(target=start, args=(slot,)) for slot in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        outcomes = [follow(engine, r) if isinstance(r, ops.StartedSync) else r for r in results]
        ran = [o for o in outcomes if isinstance(o, ops.SyncOutcome) and o.status != "refused"]
        refused = [o for o in outcomes if o not in ran]
        assert len(ran) == 1 and len(refused) == 1, outcomes
        (winner,), (loser,) = ran, refused
        assert winner.status in ("success", "partial"), winner.error
        said = str(loser) if isinstance(loser, RunInProgress) else f"{loser.cause}"
        assert f"run {winner.run_id} of {world.client_id} is still running" in said, said
        if isinstance(loser, ops.SyncOutcome):
            assert loser.exit_code == 1 and loser.error == "RunInProgress"
            item = engine.deployment.run_history().get(world.client_id, loser.run_id or "")
            assert item is not None and item["status"] == "skipped" and item["trigger"] == "manual"
        assert lease_of(engine, world.client_id) == {}  # the winner released it


def test_a_manual_sync_is_refused_and_scheduled_ones_skipped_then_alerted(
    engine: ReliabilityEngine,
) -> None:
    with slow_client(engine, "lease-busy", seed=62) as world:
        engine.alerts()  # what earlier tests left
        first = ops.start_sync(world.client_id, "initial", deployment=engine.deployment)
        assert held_by(engine, world.client_id) == first.execution_arn

        refused = CliRunner().invoke(
            app,
            ["sync", "--client", world.client_id, "--wait", "--endpoint-url", engine.aws.url],
        )
        assert refused.exit_code == 1, refused.output
        assert f"run {first.run_id} of {world.client_id} is still running" in refused.output
        assert "one run per client at a time" in refused.output

        skips = [follow(engine, scheduled_start(engine, world.client_id)) for _ in range(2)]
        outcome = follow(engine, first)
        assert outcome.status in ("success", "partial"), outcome.error

        for skip in skips:
            assert skip.status == "refused", (skip.error, skip.cause, skip.summary)
            assert skip.execution_status == "SUCCEEDED"
            assert first.run_id and first.run_id in (skip.cause or "")
        report = [json.loads(json.dumps(skip.summary))["skipped"] for skip in skips]
        assert [r["in_a_row"] for r in report] == [1, 2]
        assert report[0]["alert"] is None and report[1]["alert"] is not None
        history = [run for run in runs_of(engine, world.client_id) if run["status"] == "skipped"]
        assert {run["run_id"] for run in history} == {skip.run_id for skip in skips}
        for run in history:
            assert run["trigger"] == "schedule" and run["running_run_id"] == first.run_id
            assert f"skipped: run {first.run_id} of {world.client_id}" in run["error"]
        alerts = alerts_for(engine.alerts(), world.client_id)
        assert [a["Subject"] for a in alerts] == [
            f"Siesa integration: scheduled syncs of {world.client_id} skipped 2 times"
        ]
        assert first.run_id in alerts[0]["Message"]
        assert lease_of(engine, world.client_id) == {}

        after = follow(engine, scheduled_start(engine, world.client_id))
        assert after.status in ("success", "partial"), after.error  # the lease is free again


def test_a_lease_left_by_a_stopped_execution_is_taken_over_by_the_next_start(
    engine: ReliabilityEngine,
) -> None:
    with slow_client(engine, "lease-abort", seed=63) as world:
        first = ops.start_sync(world.client_id, "initial", deployment=engine.deployment)
        assert held_by(engine, world.client_id) == first.execution_arn
        stepfunctions = engine.deployment.client("stepfunctions")
        stepfunctions.stop_execution(executionArn=first.execution_arn, cause="operator test")
        assert follow(engine, first).execution_status == "ABORTED"
        assert lease_of(engine, world.client_id)["lease_execution"]["S"] == first.execution_arn

        world.siesa.faults.set(latency_ms=0)
        second = follow(
            engine, ops.start_sync(world.client_id, "initial", deployment=engine.deployment)
        )
        assert second.status in ("success", "partial"), (second.error, second.cause)
        abandoned = engine.deployment.run_history().get(world.client_id, first.run_id or "")
        assert abandoned is not None and abandoned["status"] == "failed"
        assert "ended (ABORTED) without recording an outcome" in abandoned["error"]
        assert second.run_id in abandoned["error"]
        assert lease_of(engine, world.client_id) == {}


def test_following_a_sync_nobody_watches_reads_its_history_once_at_the_end(
    engine: ReliabilityEngine,
) -> None:
    """The history is read whole and grows with the run: polled only for a progress display."""
    calls: list[str] = []
    sfn = engine.deployment.client("stepfunctions")

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    sfn.meta.events.register("before-call.states", count)
    try:
        with slow_client(engine, "opc-follow", seed=74):
            started = ops.start_sync("opc-follow", "initial", deployment=engine.deployment)
            calls.clear()
            outcome = follow(engine, started)
    finally:
        sfn.meta.events.unregister("before-call.states", count)

    assert outcome.status in ("success", "partial") and outcome.run_id == started.run_id
    assert outcome.progress.steps_done > 3  # the progress is still read, from the last history
    assert calls.count("GetExecutionHistory") == 1
    assert calls.count("DescribeExecution") > 5  # it ran for seconds, polled every 0.1 s
