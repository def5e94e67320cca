"""Ten clients, Kong and WMS mixed, syncing at once through one deployment.

The clients share one Kong and one WMS (each client a tenant with its own
key) and each has its own ERP, whose item codes carry the client's tag. One
client's product refuses its key. Checked: no record of one client reaches
another client's product tenant, S3 prefix or log lines; each ERP's rate
limit holds in every window (the ERP simulators' own limiter, scaled to
10 requests per second, never had to refuse, and their request logs show
at most 100 in any 60 seconds); the client whose product fails alerts and
fails alone, the other nine complete and reconcile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any

import pytest
from e2e_support import kong_client, wms_client
from evidence import Evidence, assert_no_secret
from harness import (
    ReliabilityEngine,
    renamed_catalog,
    shared_products,
    source_factory,
    world_on,
)
from matrix import MatrixRow, record_row
from scenario import alerts_for, assert_reconciled, sync_together

from local.demo_world import ClientWorld
from local.sim import generate_catalog
from ops.reconcile import reconcile
from runtime.http import SlidingWindowBudget

CLIENTS = 10
RECORDS = 150
PAGE_SIZE = 10
ERP_LIMIT, ERP_WINDOW_S = 10, 1.0
BUDGET_WINDOW_S = (
    1.3  # the client stays a little under the server's window, as network delay demands
)
CONTRACT_LIMIT, CONTRACT_WINDOW = 100, timedelta(seconds=60)
FAILING = "mc10-kong"
GROUP = "Many clients at once"


def tag(index: int) -> str:
    """The item-code prefix of client `index` (every id of that client starts with it)."""
    return f"C{index:02d}-"


@pytest.fixture
def ten_worlds(engine: ReliabilityEngine) -> Iterator[dict[str, ClientWorld]]:
    engine.injections.siesa_budget = SlidingWindowBudget(ERP_LIMIT, BUDGET_WINDOW_S)
    engine.injections.page_size = PAGE_SIZE
    with shared_products() as products, ExitStack() as stack:
        worlds: dict[str, ClientWorld] = {}
        for index in range(1, CLIENTS + 1):
            product = "kong" if index % 2 == 0 else "wms"
            make = kong_client if product == "kong" else wms_client
            spec = make(f"mc{index:02d}-{product}", seed=60 + index)
            catalog = renamed_catalog(
                generate_catalog(RECORDS, spec.seed, client=spec.client_id), tag(index)
            )
            world = stack.enter_context(
                world_on(
                    spec,
                    catalog,
                    products,
                    siesa_options={"rate_limit": ERP_LIMIT, "rate_window_s": ERP_WINDOW_S},
                )
            )
            worlds[spec.client_id] = world
        yield worlds


def windows_over(times: list[datetime], width: timedelta) -> int:
    """The most requests in any window of `width` (each window starting at a request)."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= width:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_ten_clients_at_once_stay_apart_and_within_their_limits(
    engine: ReliabilityEngine,
    ten_worlds: dict[str, ClientWorld],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    for world in ten_worlds.values():
        engine.add(world)
    ten_worlds[FAILING].product.keys.revoke(ten_worlds[FAILING].product_key)
    engine.alerts()

    outcomes = sync_together(engine, list(ten_worlds))

    failed = {cid for cid, outcome in outcomes.items() if outcome.status == "failed"}
    assert failed == {FAILING}, {cid: (o.status, o.error) for cid, o in outcomes.items()}
    assert outcomes[FAILING].error == "ProductAuthError"
    alerts = engine.alerts()
    assert [alert for alert in alerts if f"client {FAILING} " in alert["Message"]] == alerts
    assert len(alerts_for(alerts, FAILING)) == 1

    totals = {"in_scope": 0, "loaded": 0, "reported": 0, "lost": 0, "duplicates": 0}
    for client_id in ten_worlds:
        if client_id == FAILING:
            continue
        report = reconcile(
            client_id,
            deployment=engine.deployment,
            source_factory=source_factory(engine.waits),
        )
        assert_reconciled(report)
        for name in totals:
            totals[name] += getattr(report, name)

    index_of = {client_id: int(client_id[2:4]) for client_id in ten_worlds}
    # no record of one client in another client's product tenant
    for client_id, world in ten_worlds.items():
        held = world.held()
        assert all(record_id.startswith(tag(index_of[client_id])) for record_id in held)
    # nor under another client's S3 prefix
    assert_s3_holds_only_own_records(engine, index_of)
    # nor in another client's log lines
    evidence = Evidence()
    evidence.add_output(capsys, caplog)
    assert_log_lines_name_their_own_client(evidence, outcomes)
    assert_each_run_has_its_own_metrics(evidence, set(ten_worlds))

    # each ERP's rate limit held in every window
    for world in ten_worlds.values():
        entries = world.siesa.log.entries()
        assert len(entries) > ERP_LIMIT  # enough requests to need the budget
        assert [entry.status for entry in entries if entry.status == 429] == []
        times = [datetime.fromisoformat(entry.time) for entry in entries]
        assert windows_over(times, CONTRACT_WINDOW) <= CONTRACT_LIMIT
        assert windows_over(times, timedelta(seconds=ERP_WINDOW_S)) <= ERP_LIMIT + 1

    secrets = [key for world in ten_worlds.values() for key in (world.siesa_key, world.product_key)]
    evidence.add_workflow(engine, alerts, list(ten_worlds))
    evidence.add_stores(engine, list(ten_worlds))
    assert_no_secret(evidence, secrets)
    record_row(
        MatrixRow(
            group=GROUP,
            scenario="ten clients, Kong and WMS mixed, one product refusing its key",
            product="5 kong, 5 wms",
            faults=f"{FAILING}: 401 from its product; ERP limit {ERP_LIMIT}/s each",
            status="9 completed, 1 failed (ProductAuthError) with one alert",
            order=300,
            **totals,
        )
    )


def assert_s3_holds_only_own_records(engine: ReliabilityEngine, index_of: dict[str, int]) -> None:
    """Every record under runs/{client}/ carries that client's item-code tag."""
    s3 = engine.deployment.client("s3")
    bucket = engine.deployment.bucket
    checked = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="runs/mc"):
        for item in page.get("Contents", []):
            client_id = item["Key"].split("/")[1]
            if not item["Key"].endswith(".ndjson"):
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
            for line in filter(None, body.splitlines()):
                for code in _codes(json.loads(line)):
                    assert code.startswith(tag(index_of[client_id])), (item["Key"], code)
                    checked += 1
    assert checked > CLIENTS * RECORDS


def _codes(value: Any) -> Iterator[str]:
    """Item codes anywhere in a run-data line (records, canonical records, reports)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("f_codigo", "id", "record_id") and isinstance(item, str) and item.strip():
                yield item.strip()
            else:
                yield from _codes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codes(item)


def assert_each_run_has_its_own_metrics(evidence: Evidence, client_ids: set[str]) -> None:
    """One run-outcome EMF record per finished client, each under its own ClientId dimension."""
    outcomes: list[str] = []
    for where, text in evidence.texts:
        if where != "stdout":
            continue
        for raw in text.splitlines():
            if raw.startswith('{"_aws"') and '"RecordsProcessed"' in raw:
                record = json.loads(raw)
                directive = record["_aws"]["CloudWatchMetrics"][0]
                assert directive["Dimensions"] == [["ClientId", "SyncType", "Environment"]]
                outcomes.append(record["ClientId"])
    assert sorted(outcomes) == sorted(client_ids - {FAILING})


def assert_log_lines_name_their_own_client(evidence: Evidence, outcomes: dict[str, Any]) -> None:
    """Each handler log line's client_id is the client of its run_id and of any key it names."""
    client_of_run = {outcome.run_id: client_id for client_id, outcome in outcomes.items()}
    lines = 0
    for where, text in evidence.texts:
        if where != "stdout":
            continue
        for raw in text.splitlines():
            if not raw.startswith('{"timestamp"'):
                continue
            line = json.loads(raw)
            run_id, client_id = line.get("run_id"), line.get("client_id")
            if run_id in client_of_run:
                lines += 1
                assert client_id == client_of_run[run_id], line["message"]
            for value in json.dumps(line.get("metadata", {})).split('"'):
                if value.startswith("runs/"):
                    assert value.split("/")[1] == client_id, (client_id, value)
    assert lines > CLIENTS * 6
