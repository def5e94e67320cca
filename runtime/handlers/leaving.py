"""The loader's leaving-scope step: records the product holds that left the client's scope.

After a run's records are loaded, the live records the run skipped (and, on
a full sync, those its extract lacks) leave scope (runtime/scope.py). Each
becomes what the client chose in `left_scope`: `zero_stock` or
`mark_inactive` through the adapter (GET, change, PUT, with the adapter's
retries and rate-limit handling), or `report` (listed only). Every one is a
line of `left-scope.ndjson` with its outcome; an action that fails is
reported with its reason and stays pending for the next run, never dropped.
An authentication error stops the run like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from runtime.adapters.base import ProductAdapter
from runtime.errors import AuthenticationError, IntegrationError
from runtime.observability import logger, redact
from runtime.runstore import RunStore
from runtime.scope import leaving, left_scope_key, next_live, read_live, write_live

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
    seen: Iterable[str],
    skipped: Iterable[str],
    loaded: Iterable[str],
) -> LeftScope:
    """Find the records that left scope, do the client's choice to each, update the live ids."""
    state = read_live(store, client_id)
    found = leaving(state, full_sync=full_sync, seen=seen, skipped=skipped)
    result = LeftScope(choice, held_back=found.held_back)
    pending: dict[str, str] = {}
    with store.ndjson_writer(left_scope_key(client_id, run_id)) as writer:
        for record_id, why in sorted(found.records.items()):
            line = {
                "id": record_id,
                "why": why,
                "choice": choice,
                **_act(adapter, record_id, choice),
            }
            if line["outcome"] == FAILED:
                pending[record_id] = why
                result.failed += 1
            writer.write(line)
            result.count += 1
            if len(result.shown) < SUMMARY_MAX_LEFT:
                result.shown.append(line)
    result.key = writer.key
    done = set(found.records) - set(pending)
    if not write_live(
        store, next_live(state, run_id=run_id, loaded=loaded, left=done, pending=pending)
    ):
        logger.info("a newer run's live ids are stored; this run's are not written")
    if found.held_back:
        logger.warning(
            f"{found.held_back} live record(s) are absent from this full sync's extract: more "
            "than half the client's records, so the extract is taken for a broken one and "
            "nothing is changed; they stay live"
        )
    if result.count:
        logger.info(
            f"{result.count} record(s) left the client's scope ({choice})",
            extra={"metadata": {"failed": result.failed, "key": result.key}},
        )
    return result


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
