"""A catalog that needs several Lambda invocations per stage completes, reconciled, once per record.

EXTRACT_MAX_PAGES makes a tiny catalog behave like a large one: the
extractor hands back a cursor after two ERP pages, and the workflow invokes
it again until the listing ends. The ERP moves a record while it is paged
(`move_record_after_page`): the record is served on page 3, at the end of
the first invocation, and again, newer, in a later one; an unchanged record
shifts onto a page already read, so a second pass runs across invocations
too. The dedup index lives in the dedup table, so the record is kept once,
its newest copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import kong_client
from harness import ReliabilityEngine, shared_products, world_on
from scenario import assert_reconciled, reconciled, sync_together

from local.sim import generate_catalog
from runtime import settings
from runtime.handlers.parts import parts_of
from runtime.runstore import run_prefix

RECORDS = 55
PAGE_SIZE = 10
PAGES_PER_INVOCATION = 3
INLINE_MAX_PAGES = 2


@pytest.fixture
def small_invocations(engine: ReliabilityEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pages of ten records (ERP and run store), three ERP pages per extractor invocation, the
    distributed Map past two extracted pages."""
    monkeypatch.setenv(settings.EXTRACT_MAX_PAGES_ENV, str(PAGES_PER_INVOCATION))
    monkeypatch.setenv(settings.INLINE_MAX_PAGES_ENV, str(INLINE_MAX_PAGES))
    monkeypatch.setenv(settings.RUN_PAGE_SIZE_ENV, str(PAGE_SIZE))
    before = engine.injections.page_size
    engine.injections.page_size = PAGE_SIZE
    try:
        yield
    finally:
        engine.injections.page_size = before


def invocations(engine: ReliabilityEngine, execution_arn: str) -> Counter[str]:
    """How many times each Lambda task state of the execution was scheduled."""
    client = engine.deployment.client("stepfunctions")
    counts: Counter[str] = Counter()
    state = ""
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        for event in page["events"]:
            if event["type"] == "TaskStateEntered":
                state = event["stateEnteredEventDetails"]["name"]
            elif event["type"] == "LambdaFunctionScheduled":
                counts[state] += 1
    return counts


def loaded_parts(engine: ReliabilityEngine, client_id: str, run_id: str) -> list[str]:
    """The parts of the run the loader accounted for (runtime/handlers/parts.py)."""
    store = engine.deployment.run_store()
    return [
        part.name
        for part in parts_of(store, client_id, run_id)
        if part.loaded is not None and part.transformed is not None
    ]


def canonical_ids(engine: ReliabilityEngine, client_id: str, run_id: str) -> list[str]:
    """The id of every product record the run's canonical pages hold."""
    store = engine.deployment.run_store()
    keys = store.list_keys(run_prefix(client_id, run_id) + "canonical/")
    return [str(record["id"]) for record in store.iter_records(keys)]


def test_an_extraction_over_several_invocations_sends_each_record_once(
    engine: ReliabilityEngine, small_invocations: None
) -> None:
    spec = kong_client("bi-kong", seed=71)
    catalog = generate_catalog(RECORDS, spec.seed, client=spec.client_id)
    with shared_products() as products, world_on(spec, catalog, products) as world:
        world.siesa.faults.set(move_record_after_page=3)
        engine.add(world)
        outcome = sync_together(engine, [world.client_id])[world.client_id]
        assert outcome.status in ("success", "partial"), outcome
        events = world.siesa.faults.snapshot()["events"]
        (moved,) = [event for event in events if event.get("fault") == "move_record"]

        counts = invocations(engine, outcome.execution_arn)
        assert counts["ExtractFromSiesa"] >= 3, counts
        # transform and load ran once per extracted page (six of them), through the distributed
        # Map: the pages were listed from S3, each part accounted for by its own invocations
        assert "MapPagesFromS3" in engine.states_entered(outcome.execution_arn)
        parts = loaded_parts(engine, world.client_id, outcome.run_id or "")
        assert len(parts) >= 6 and parts[-1] == "retried", parts
        # `siesa sync` counted the pages from the Map run (its iterations are not in this history)
        pages = (outcome.progress.pages_done, outcome.progress.pages_total)
        assert pages == (len(parts) - 1, len(parts) - 1), pages
        assert counts["FinishRun"] == 1, counts
        ids = canonical_ids(engine, world.client_id, outcome.run_id or "")
        summary: dict[str, Any] = outcome.summary or {}
        assert len(ids) == len(set(ids)) == summary["records_success"]
        assert summary["records_processed"] == RECORDS
        assert moved["id"] in world.held()
        assert_reconciled(reconciled(engine, world))
