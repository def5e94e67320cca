"""A run that fails more than its client's share of records alerts once, through the workflow.

The alert is read where an operator would get it: an SQS queue subscribed to
the alerts topic of the embedded AWS. Records are broken in the simulated
ERP (negative stock, a missing name), so the mapping rejects them; the run
ends `partial`, the loader's summary carries the alert, and the workflow's
`NotifyFailedRecords` publishes it. The FailedRecordsShare metric of every
run is in the handlers' EMF output.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from e2e_support import E2eEngine, kong_client, worlds

from local.demo_world import ClientWorld

PRODUCTS = 60
NEGATIVE, NAMELESS = 6, 3


def broken(world: ClientWorld) -> None:
    """Break records the mapping then rejects: negative stock, and no name."""
    codes = [str(record["f_codigo"]).strip() for record in world.catalog.records()]
    world.catalog.modify(codes[:NEGATIVE], changes={"f_cantidad": "-4"})
    world.catalog.modify(codes[NEGATIVE : NEGATIVE + NAMELESS], changes={"f_nombre": ""})


def emf_shares(output: str, client_id: str) -> list[float]:
    """The FailedRecordsShare values the handlers emitted for this client."""
    shares: list[float] = []
    for text in output.splitlines():
        if text.startswith('{"_aws"'):
            record = json.loads(text)
            if record.get("ClientId") == client_id and "FailedRecordsShare" in record:
                shares += record["FailedRecordsShare"]
    return shares


def failed_reasons(engine: E2eEngine, summary: dict[str, Any]) -> Counter[str]:
    """The run's failed records by reason, read from its report."""
    lines = engine.deployment.run_store().iter_lines(summary["failed_records_key"])
    return Counter(str(line["reason"]) for line in lines)


def test_a_run_above_the_threshold_publishes_one_alert_with_the_share_and_top_reasons(
    engine: E2eEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = kong_client("fa-above", seed=51)
    with worlds(spec, products=PRODUCTS) as running:
        world = running[spec.client_id]
        broken(world)
        engine.add(world)
        engine.alerts()  # nothing of an earlier test

        outcome = engine.sync(world.client_id, "initial")

        summary = outcome.summary
        assert summary is not None and outcome.status == "partial", outcome.error
        failed, processed = summary["records_failed"], summary["records_processed"]
        assert processed == PRODUCTS and failed * 100 > 5 * processed
        share = round(100 * failed / processed, 2)
        assert summary["failed_share_percent"] == share
        alerts = engine.alerts()
        assert len(alerts) == 1, alerts
        (alert,) = alerts
        assert alert["Subject"] == (
            f"Siesa integration: {share:g}% of records failed for {world.client_id}"
        )
        message = alert["Message"]
        assert message.startswith(
            f"Client {world.client_id} (Empresa {world.client_id}): {failed} of {processed} "
            f"records in scope failed ({share:g}%) in run {outcome.run_id} (initial sync), "
            "above the client's threshold of 5%."
        )
        reasons = failed_reasons(engine, summary)
        top, count = reasons.most_common(1)[0]
        assert top == "stock_quantity: must be >= 0" and count >= NEGATIVE
        assert f"Top reasons:\n- {count} record(s): {top}\n" in message
        assert "record(s): name: is required but missing" in message
        assert world.product_key not in message and world.siesa_key not in message
        assert "NotifyFailedRecords" in engine.states_entered(outcome.execution_arn)
        assert emf_shares(capsys.readouterr().out, world.client_id) == [share]


def test_a_run_under_the_threshold_or_under_the_clients_own_publishes_none(
    engine: E2eEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    under = kong_client("fa-under", seed=52)
    lenient = kong_client("fa-lenient", seed=53)
    with worlds(under, lenient, products=PRODUCTS) as running:
        engine.add(running[under.client_id])
        broken(running[lenient.client_id])
        engine.add(running[lenient.client_id], failed_records_alert_percent=25)
        engine.alerts()

        for client_id, low, high in ((under.client_id, 0, 5), (lenient.client_id, 5, 25)):
            outcome = engine.sync(client_id, "initial")
            summary = outcome.summary
            assert summary is not None and outcome.status == "partial", outcome.error
            assert low < summary["failed_share_percent"] <= high
            assert summary["failed_records_alert"] is None
            assert "NotifyFailedRecords" not in engine.states_entered(outcome.execution_arn)
            shares = emf_shares(capsys.readouterr().out, client_id)
            assert shares == [summary["failed_share_percent"]]

        assert engine.alerts() == []
