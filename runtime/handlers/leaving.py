"""The loader's leaving-scope step: records the product holds that left the client's scope.

After a run's records are loaded, the live records the run skipped (and, on
a full sync, those its extract lacks) leave scope (runtime/scope.py). Each
becomes what the client chose in `left_scope`: `zero_stock` or
`mark_inactive` through the adapter (GET, change, PUT, with the adapter's
retries and rate-limit handling), or `report` (listed only). Every one is a
line of `left-scope.ndjson` with its outcome; an action that fails is
reported with its reason and stays pending for the next run, never dropped.
The lines come shard by shard of the live ids, sorted by id within each.
An authentication error stops the run like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.adapters.base import ProductAdapter
from runtime.errors import AuthenticationError, IntegrationError
from runtime.observability import logger, redact
from runtime.run_ids import RunIds
from runtime.runstore import NdjsonWriter, RunStore
from runtime.scope import (
    LiveShards,
    absent_ids,
    is_broken_extract,
    leaving,
    left_scope_key,
    next_live,
)

SUMMARY_MAX_LEFT = 100
"""The summary travels in the workflow state: it lists at most this many records that left scope."""
FAILED = "failed"


@dataclass
class LeftScope:
    """What the leaving-scope step did in a run (the summary's `left_scope`)."""

    choice: str
    count: int = 0
    failed: int = 0
    held_back: int = 0
    shown: list[dict[str, Any]] = field(default_factory=list)
    key: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The summary's `left_scope` block."""
        return {
            "choice": self.choice,
            "count": self.count,
            "failed": self.failed,
            "held_back": self.held_back,
            "records": self.shown,
            "records_truncated": self.count > len(self.shown),
            "key": self.key,
        }


def leave_scope(
    store: RunStore,
    adapter: ProductAdapter,
    *,
    client_id: str,
    run_id: str,
    choice: str,
    full_sync: bool,
    ids: RunIds,
) -> LeftScope:
    """Find the records that left scope, do the client's choice to each, update the live ids.

    One shard of the live ids at a time (runtime/scope.py `LiveShards`), with
    the run's ids of that shard: memory holds one shard, whatever the catalog.
    """
    live = LiveShards(store, client_id, full_sync_ids=ids.count if full_sync else None)
    broken = _broken_extract(live, ids) if full_sync else False
    result = LeftScope(choice)
    newer = False
    with store.ndjson_writer(left_scope_key(client_id, run_id)) as writer:
        for shard in live.order():
            state, run = live.read(shard), ids.of(shard, live.shards)
            found = leaving(
                state,
                full_sync=full_sync,
                seen=run.seen,
                skipped=run.skipped,
                broken_extract=broken,
            )
            result.held_back += found.held_back
            pending = _act_on(adapter, found.records, choice, writer, result)
            done = set(found.records) - set(pending)
            after = next_live(state, run_id=run_id, loaded=run.loaded, left=done, pending=pending)
            newer = not live.write_live(shard, state, after) or newer
    result.key = writer.key
    if newer:
        logger.info("a newer run's live ids are stored; this run's are not written")
    else:
        live.settle()
    if result.held_back:
        logger.warning(
            f"{result.held_back} live record(s) are absent from this full sync's extract: more "
            "than half the client's records, so the extract is taken for a broken one and "
            "nothing is changed; they stay live"
        )
    if result.count:
        logger.info(
            f"{result.count} record(s) left the client's scope ({choice})",
            extra={"metadata": {"failed": result.failed, "key": result.key}},
        )
    return result


def _broken_extract(live: LiveShards, ids: RunIds) -> bool:
    """Whether this full sync's extract lacks too many of the client's live records (every shard)."""
    held = absent = 0
    for shard in live.order():
        state, run = live.read(shard), ids.of(shard, live.shards)
        held += len(state.ids)
        absent += len(absent_ids(state, run.seen, run.skipped))
    return is_broken_extract(held, absent)


def _act_on(
    adapter: ProductAdapter,
    records: dict[str, str],
    choice: str,
    writer: NdjsonWriter,
    result: LeftScope,
) -> dict[str, str]:
    """Do the client's choice to each record (id -> why it left); returns those still pending."""
    pending: dict[str, str] = {}
    for record_id, why in sorted(records.items()):
        line = {"id": record_id, "why": why, "choice": choice, **_act(adapter, record_id, choice)}
        if line["outcome"] == FAILED:
            pending[record_id] = why
            result.failed += 1
        writer.write(line)
        result.count += 1
        if len(result.shown) < SUMMARY_MAX_LEFT:
            result.shown.append(line)
    return pending


def _act(adapter: ProductAdapter, record_id: str, choice: str) -> dict[str, str]:
    """The outcome of the client's choice for one record (and the reason when it failed)."""
    if choice == "report":
        return {"outcome": "reported"}
    try:
        return {"outcome": adapter.leave_scope(record_id, choice)}
    except AuthenticationError:
        raise
    except IntegrationError as exc:
        return {"outcome": FAILED, "reason": redact(f"{type(exc).__name__}: {exc}")[:300]}
