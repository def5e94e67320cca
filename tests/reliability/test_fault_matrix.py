"""The fault matrix: each fault of the ERP or the product, through the real workflow, then reconciled.

Per scenario: a client (240 records) and a bystander of the other product
type are added; an initial sync sets the watermark; a tenth of the ERP
changes; the fault is armed and the client's initial sync runs beside the
bystander's (a fault that matters most on a client's first run is armed
before it instead). The run must end as the design document says (retried and
succeeded; partial with the failed records reported; or failed with an alert
on SNS, and then a clean re-run), the bystander must be untouched, the
client must reconcile (every record in scope loaded as the mapping says or
reported, none lost, none doubled), and no secret value may appear in
anything the run left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from e2e_support import kong_client, wms_client, worlds
from evidence import assert_no_secret
from harness import ReliabilityEngine, product_injectors
from matrix import MatrixRow, record_row
from scenario import (
    Gathered,
    alerts_for,
    assert_reconciled,
    change_between_runs,
    reconciled,
    runs_of,
    sync_together,
    watermark,
)

import ops
from local.demo_expect import compile_mappings, expect
from local.demo_world import ClientWorld, plant_product_refusals
from local.provision import MAPPINGS_DIR
from local.sim import WmsSim
from runtime.runstore import failed_records_key

RECORDS = 240
CHANGED_EVERY = 10
GROUP_ERP = "ERP faults"
GROUP_PRODUCT = "Product faults"

Arm = Callable[[ReliabilityEngine, ClientWorld], None]
Check = Callable[[ReliabilityEngine, ClientWorld, ops.SyncOutcome], None]


def _nothing(*_: object) -> None:
    return None


@dataclass(frozen=True)
class Case:
    """One row of the matrix."""

    group: str
    name: str
    product: str
    faults: str
    arm: Arm
    status: str
    check: Check = _nothing
    split_services: bool = False
    alert: str | None = None
    first_run: bool = False
    order: int = field(default=0, compare=False)


def injected(world: ClientWorld, service: str | None = None) -> dict[str, int]:
    """What the ERP's injector (or, naming a service, the WMS service's) has injected so far."""
    if service is not None:
        assert isinstance(world.product, WmsSim)
        return dict(world.product.faults[service].snapshot()["injected"])
    return dict(world.siesa.faults.snapshot()["injected"])


def product_injected(world: ClientWorld) -> dict[str, int]:
    """Injected tallies of the product (all services summed)."""
    total: dict[str, int] = {}
    for injector in product_injectors(world):
        for kind, count in injector.snapshot()["injected"].items():
            total[kind] = total.get(kind, 0) + count
    return total


# --- arming --------------------------------------------------------------------------------


def erp(**knobs: object) -> Arm:
    def arm(engine: ReliabilityEngine, world: ClientWorld) -> None:
        world.siesa.faults.set(**knobs)

    return arm


def product(service: str | None = None, **knobs: object) -> Arm:
    def arm(engine: ReliabilityEngine, world: ClientWorld) -> None:
        if service is None:
            for injector in product_injectors(world):
                injector.set(**knobs)
        else:
            assert isinstance(world.product, WmsSim)
            world.product.faults[service].set(**knobs)

    return arm


def revoke_after(requests: int, service: str | None = None) -> Arm:
    """The product's API key stops working after this many more requests (to one service)."""

    def arm(engine: ReliabilityEngine, world: ClientWorld) -> None:
        injectors = (
            product_injectors(world) if service is None else [world.product.faults[service]]  # type: ignore[union-attr]
        )
        for injector in injectors:
            injector.set(revoke_from_request=injector.requests_seen + requests + 1)

    return arm


def crash_loader_after(batches: int) -> Arm:
    def arm(engine: ReliabilityEngine, world: ClientWorld) -> None:
        engine.injections.crash_after_batches[world.client_id] = batches

    return arm


def refusals(count: int) -> Arm:
    """Give `count` valid records data only the product refuses (tag taken, zone unlisted)."""

    def arm(engine: ReliabilityEngine, world: ClientWorld) -> None:
        mapping = MAPPINGS[world.product_type]
        plant_product_refusals(world, expect(mapping, world.catalog.records()), count)

    return arm


# --- checks --------------------------------------------------------------------------------


def waited(low: float, high: float, count: int) -> Check:
    """The client's handlers asked to wait between low and high seconds `count` times (Retry-After)."""

    def check(engine: ReliabilityEngine, world: ClientWorld, outcome: ops.SyncOutcome) -> None:
        asked = [wait for wait in engine.waits.of(world.client_id) if low <= wait <= high]
        assert len(asked) == count, engine.waits.of(world.client_id)

    return check


def erp_injected(kind: str, count: int) -> Check:
    def check(engine: ReliabilityEngine, world: ClientWorld, outcome: ops.SyncOutcome) -> None:
        assert injected(world).get(kind) == count

    return check


def product_injected_check(kind: str, count: int, service: str | None = None) -> Check:
    def check(engine: ReliabilityEngine, world: ClientWorld, outcome: ops.SyncOutcome) -> None:
        tallies = injected(world, service) if service else product_injected(world)
        assert tallies.get(kind) == count, tallies
        if service == "warehouse":
            assert injected(world, "inventory") == {}

    return check


def both(*checks: Check) -> Check:
    def check(engine: ReliabilityEngine, world: ClientWorld, outcome: ops.SyncOutcome) -> None:
        for each in checks:
            each(engine, world, outcome)

    return check


def a_loader_attempt_failed(
    engine: ReliabilityEngine, world: ClientWorld, outcome: ops.SyncOutcome
) -> None:
    """The workflow retried the loader once (its own Retry), and the retry succeeded."""
    assert outcome.progress.attempts_failed == 1, outcome.progress


def workflow_retried(count: int, cap: float) -> Check:
    """The workflow's own Retry waited `count` times (recorded, not slept), none past its cap."""

    def check(engine: ReliabilityEngine, world: ClientWorld, outcome: ops.SyncOutcome) -> None:
        assert len(engine.workflow_waits) == count, engine.workflow_waits
        assert all(0 <= wait <= cap for wait in engine.workflow_waits), engine.workflow_waits

    return check


def record_moved(engine: ReliabilityEngine, world: ClientWorld, outcome: ops.SyncOutcome) -> None:
    events = world.siesa.faults.snapshot()["events"]
    assert [event["fault"] for event in events] == ["move_record"]


def refused_are_reported(
    engine: ReliabilityEngine, world: ClientWorld, outcome: ops.SyncOutcome
) -> None:
    summary = outcome.summary or {}
    reported = {entry["id"] for entry in summary.get("failed_records", [])}
    assert set(world.planted_refusals) <= reported, (world.planted_refusals, reported)


CASES = [
    Case(
        GROUP_ERP,
        "429 burst, Retry-After in seconds",
        "kong",
        "3 × 429, Retry-After: 1",
        erp(rate_limit_next=3, retry_after=1, retry_after_format="seconds"),
        "completed",
        both(erp_injected("rate_limit", 3), waited(1.0, 1.0, 3)),
    ),
    Case(
        GROUP_ERP,
        "429 burst, Retry-After as HTTP-date",
        "wms",
        "3 × 429, Retry-After: <date 1 s ahead>",
        erp(rate_limit_next=3, retry_after=1, retry_after_format="http-date"),
        "completed",
        both(erp_injected("rate_limit", 3), waited(0.0, 1.0, 3)),
    ),
    Case(
        GROUP_ERP,
        "500s",
        "kong",
        "3 × 500",
        erp(error_500_next=3),
        "completed",
        erp_injected("error_500", 3),
    ),
    Case(
        GROUP_ERP,
        "503s",
        "wms",
        "4 × 503",
        erp(error_503_next=4),
        "completed",
        erp_injected("error_503", 4),
    ),
    Case(
        GROUP_ERP,
        "read timeouts",
        "kong",
        "2 × no answer within the read timeout",
        erp(timeout_next=2, timeout_delay_s=4.0),
        "completed",
        erp_injected("timeout", 2),
    ),
    Case(
        GROUP_ERP,
        "connection dropped mid-page",
        "wms",
        "2 × half a page, then the socket closes",
        erp(drop_connection_next=2),
        "completed",
        erp_injected("drop_connection", 2),
    ),
    Case(
        GROUP_ERP,
        "page of malformed JSON",
        "kong",
        "2 × truncated JSON body",
        erp(malformed_json_next=2),
        "completed",
        erp_injected("malformed_json", 2),
    ),
    Case(
        GROUP_ERP,
        "record changed while paging",
        "wms",
        "after page 2, its first record changes and moves last",
        erp(move_record_after_page=2),
        "completed",
        record_moved,
        first_run=True,
    ),
    Case(
        GROUP_ERP,
        "outage beyond every retry",
        "kong",
        "every request 503 (handler and workflow retries spent)",
        erp(error_503_rate=1.0),
        "failed",
        workflow_retried(3, 60.0),
        alert="SiesaUnavailable",
    ),
    Case(
        GROUP_PRODUCT,
        "429",
        "kong",
        "3 × 429, Retry-After: 1",
        product(rate_limit_next=3, retry_after=1),
        "completed",
        both(product_injected_check("rate_limit", 3), waited(1.0, 1.0, 3)),
    ),
    Case(
        GROUP_PRODUCT,
        "500 three times in a row",
        "wms",
        "3 × 500",
        product(service="inventory", error_500_next=3),
        "completed",
        product_injected_check("error_500", 3, "inventory"),
    ),
    Case(
        GROUP_PRODUCT,
        "500 four times in a row",
        "kong",
        # four batches at the product at once (product_concurrency): each meets four 500s,
        # past the design's three retries, and the workflow retries the loader once
        "16 × 500: 4 × 500 for each of the 4 batches at the product at once (past the "
        "design's 3 retries: the workflow retries the loader)",
        product(error_500_next=16),
        "completed",
        both(product_injected_check("error_500", 16), a_loader_attempt_failed),
    ),
    Case(
        GROUP_PRODUCT,
        "503 on the WMS warehouse service only",
        "wms",
        "3 × 503 on warehouse, inventory up",
        product(service="warehouse", error_503_next=3),
        "completed",
        product_injected_check("error_503", 3, "warehouse"),
        split_services=True,
    ),
    Case(
        GROUP_PRODUCT,
        "WMS warehouse down past the loader's retries",
        "wms",
        "7 × 503 on warehouse, inventory up (the workflow retries the loader)",
        product(service="warehouse", error_503_next=7),
        "completed",
        both(product_injected_check("error_503", 7, "warehouse"), a_loader_attempt_failed),
        split_services=True,
    ),
    Case(
        GROUP_PRODUCT,
        "per-item errors",
        "kong",
        "5 records refused per item (RFID tag bound to another product)",
        refusals(5),
        "partial",
        refused_are_reported,
    ),
    Case(
        GROUP_PRODUCT,
        "per-item errors",
        "wms",
        "5 records refused per item (zone the WMS does not list)",
        refusals(5),
        "partial",
        refused_are_reported,
    ),
    Case(
        GROUP_PRODUCT,
        "401 in the middle of a run",
        "kong",
        # a batch is two requests (products, then tags) and four batches are at the product
        # at once: eight requests in, at least one batch is loaded whatever their order
        "API key revoked after 8 requests (4 of 5 batches, sent 4 at once)",
        revoke_after(8),
        "failed",
        alert="ProductAuthError",
    ),
    Case(
        GROUP_PRODUCT,
        "401 in the middle of a run",
        "wms",
        "API key revoked after 2 of 5 batches",
        revoke_after(2, "inventory"),
        "failed",
        alert="ProductAuthError",
    ),
    Case(
        GROUP_PRODUCT,
        "loader killed between batches",
        "kong",
        "the loader crashes after batch 3 of 5",
        crash_loader_after(3),
        "failed",
        alert="LoaderCrash",
    ),
]
CASES = [Case(**{**case.__dict__, "order": number}) for number, case in enumerate(CASES, start=1)]
MAPPINGS = compile_mappings(sorted(MAPPINGS_DIR.glob("*.map")))


def assert_stopped_load_reported(
    engine: ReliabilityEngine, world: ClientWorld, outcome: ops.SyncOutcome, error: str
) -> None:
    """A loader that stopped part way reported every record it had not loaded, with why."""
    store = engine.deployment.run_store()
    run_id = outcome.run_id or ""
    lines = list(store.iter_lines(failed_records_key(world.client_id, run_id)))
    stopped = [
        line
        for line in lines
        if line["reason"].startswith(f"not loaded: the run stopped on {error}")
    ]
    assert stopped and all(line["retryable"] for line in stopped)
    assert all(isinstance(line["record"], dict) for line in stopped)  # raw copies, for replay
    canonical = {
        record["id"]
        for key in sorted(
            item["Key"]
            for item in store.s3.list_objects_v2(
                Bucket=store.bucket, Prefix=f"runs/{world.client_id}/{run_id}/canonical/"
            )["Contents"]
        )
        for record in store.iter_lines(key)
    }
    reported = {line["id"] for line in lines if line["stage"] == "product"}
    loaded = canonical - reported
    assert loaded and reported, "the run stopped neither at its start nor at its end"
    held = world.held()
    assert all(record_id in held for record_id in loaded)


def ended_as(outcome: ops.SyncOutcome) -> str:
    """completed (nothing failed at the product), partial (the product refused some), or failed."""
    if outcome.status == "failed":
        return "failed"
    failed = (outcome.summary or {}).get("failed_records", [])
    return "partial" if any(entry.get("stage") != "mapping" for entry in failed) else "completed"


def described(outcome: ops.SyncOutcome) -> str:
    """The run's status as the matrix shows it, with what it reported."""
    if outcome.status == "failed":
        return f"failed ({outcome.error})"
    failed = (outcome.summary or {}).get("failed_records", [])
    rejects = sum(1 for entry in failed if entry.get("stage") == "mapping")
    refused = len(failed) - rejects
    parts = [f"{refused} refused by the product"] if refused else []
    parts += [f"{rejects} rejected by the mapping"] if rejects else []
    return f"{outcome.status} ({', '.join(parts)})" if parts else outcome.status


def _slug(case: Case) -> str:
    return f"{case.product}-{case.name}".lower().replace(" ", "-")


def _client_ids(case: Case) -> tuple[str, str]:
    tag = f"{case.order:02d}"
    return f"fm{tag}-{case.product}", f"fm{tag}-bystander"


@pytest.mark.parametrize("case", CASES, ids=_slug)
def test_fault(
    engine: ReliabilityEngine,
    case: Case,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client_id, bystander_id = _client_ids(case)
    spec = (kong_client if case.product == "kong" else wms_client)(
        client_id, seed=100 + case.order, split_services=case.split_services
    )
    other = (wms_client if case.product == "kong" else kong_client)(
        bystander_id, seed=200 + case.order
    )
    gathered = Gathered()
    gathered.take_alerts(engine)
    with worlds(spec, other, products=RECORDS) as running:
        world, bystander = running[client_id], running[bystander_id]
        for each in (world, bystander):
            engine.add(each)
        first: dict[str, ops.SyncOutcome] = {}
        if not case.first_run:
            first = sync_together(engine, [client_id, bystander_id])
            assert {outcome.status for outcome in first.values()} <= {"success", "partial"}
            change_between_runs(engine, world, world.catalog.ids()[::CHANGED_EVERY])
        before = watermark(engine, client_id)
        engine.workflow_waits.clear()
        case.arm(engine, world)

        outcomes = sync_together(engine, [client_id, bystander_id])
        outcome = outcomes[client_id]
        statuses = [described(outcome)]

        assert ended_as(outcome) == case.status, (outcome.status, outcome.error, outcome.cause)
        case.check(engine, world, outcome)
        by = outcomes[bystander_id]
        assert (by.status, by.error) in (("success", None), ("partial", None))
        fresh = gathered.take_alerts(engine)
        assert alerts_for(fresh, bystander_id) == []
        if case.alert is not None:
            (alert,) = alerts_for(fresh, client_id)
            assert f"Error: {case.alert}" in alert["Message"]
            assert watermark(engine, client_id) == before, "a failed run moved the watermark"
            if case.group == GROUP_PRODUCT:
                assert_stopped_load_reported(engine, world, outcome, case.alert)
            engine.injections.crash_after_batches.pop(client_id, None)
            report = reconciled(engine, world)  # faults disarmed: the ERP and product are back
            assert report.lost == 0 and report.duplicates == 0
            again = sync_together(engine, [client_id], "incremental")[client_id]
            assert ended_as(again) == "completed", (again.status, again.error, again.cause)
            statuses.append(described(again))
            assert [run["status"] for run in runs_of(engine, client_id)][:3] == [
                again.status,
                "failed",
                first[client_id].status,
            ]
        else:
            assert alerts_for(fresh, client_id) == []
            after = watermark(engine, client_id)
            assert after is not None and (before is None or after >= before)

        report = reconciled(engine, world)
        assert_reconciled(report)
        assert_reconciled(reconciled(engine, bystander))
        gathered.evidence.add_output(capsys, caplog)
        gathered.evidence.add_workflow(engine, gathered.alerts, [client_id, bystander_id])
        gathered.evidence.add_stores(engine, [client_id, bystander_id])
        gathered.evidence.add("reconcile", report.to_json())
        assert_no_secret(
            gathered.evidence,
            [world.siesa_key, world.product_key, bystander.siesa_key, bystander.product_key],
        )
    shown = statuses[0] if len(statuses) == 1 else f"{statuses[0]}, alert; re-run {statuses[1]}"
    record_row(
        MatrixRow(
            group=case.group,
            scenario=case.name,
            product=case.product,
            faults=case.faults,
            status=shown,
            in_scope=report.in_scope,
            loaded=report.loaded,
            reported=report.reported,
            lost=report.lost,
            duplicates=report.duplicates,
            order=case.order,
        )
    )
