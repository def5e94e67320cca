"""Running a scenario: clients added, syncs run side by side, the product reconciled, secrets searched."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evidence import Evidence
from harness import ReliabilityEngine, calm, source_factory

import ops
from local.demo_world import ClientWorld
from ops.reconcile import ReconcileReport, reconcile


def sync_together(
    engine: ReliabilityEngine, client_ids: Sequence[str], sync_type: str = "initial"
) -> dict[str, ops.SyncOutcome]:
    """Start every client's sync at once, then follow each to its end."""
    started = [
        ops.start_sync(client_id, sync_type, deployment=engine.deployment)
        for client_id in client_ids
    ]
    return {
        sync.client_id: ops.wait(
            sync, deployment=engine.deployment, poll_seconds=0.1, timeout_seconds=180
        )
        for sync in started
    }


def reconciled(engine: ReliabilityEngine, world: ClientWorld) -> ReconcileReport:
    """Reconcile the client (faults disarmed first), its product read through its listing."""
    calm(world)
    return reconcile(
        world.client_id,
        deployment=engine.deployment,
        source_factory=source_factory(engine.waits),
    )


def explain(report: ReconcileReport) -> str:
    """The differences, for an assertion message."""
    return (
        "\n".join(f"{d.kind} {d.record_id}: {d.detail}" for d in report.differences[:20])
        or "no differences"
    )


def assert_reconciled(report: ReconcileReport) -> None:
    """Nothing lost, nothing doubled, every value as the mapping says."""
    assert report.ok, explain(report)
    assert report.in_scope > 0
    assert report.in_scope == report.loaded + report.reported


def change_between_runs(engine: ReliabilityEngine, world: ClientWorld, ids: list[str]) -> None:
    """Change ERP records after the client's watermark and before the next run's.

    Watermarks and ERP stamps are whole seconds, and a record changed at the
    very second a run starts is pending for that run (the next one takes it):
    so the change lands in a later second than the watermark, and the next
    run starts in a later second than the change, which puts it in scope.
    """
    stored = watermark(engine, world.client_id)
    if stored is not None:
        after = datetime.fromisoformat(stored).timestamp() + 1
        time.sleep(max(0.0, after - time.time()))
    world.catalog.modify(ids)
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.01)
    assert datetime.now(UTC).timestamp() > now


def watermark(engine: ReliabilityEngine, client_id: str) -> str | None:
    """The client's stored watermark."""
    return engine.deployment.config_store().get(client_id).last_sync_watermark


def runs_of(engine: ReliabilityEngine, client_id: str) -> list[dict[str, Any]]:
    """The client's run history, newest first."""
    return engine.deployment.run_history().list(client_id, limit=50)


def alerts_for(alerts: Iterable[dict[str, Any]], client_id: str) -> list[dict[str, Any]]:
    """The SNS alerts that name this client."""
    return [alert for alert in alerts if f"client {client_id} " in alert.get("Message", "")]


@dataclass
class Gathered:
    """What a scenario leaves behind, for the secrets search."""

    evidence: Evidence = field(default_factory=Evidence)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def take_alerts(self, engine: ReliabilityEngine) -> list[dict[str, Any]]:
        """Alerts published since the last call (kept for the search too)."""
        fresh = engine.alerts()
        self.alerts.extend(fresh)
        return fresh
