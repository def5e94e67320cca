"""The extract stage's core: what a run asks the ERP for, and the ERP's pages deduplicated.

The watermark is the run's start time, taken before the first page:
records changed while the run pages through are caught by the next
incremental run. Pages stream through a `DedupWriter` (dedup.py), which
keeps one copy per record, the newest, and writes them to a page sink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.config import ClientConfig, SyncType
from runtime.config_store import iso_utc
from runtime.runstore import new_run_id
from runtime.stages.dedup import DedupOutcome, DedupWriter, PageStore, Record
from runtime.sync_state import extraction_watermark, modified_since


@dataclass(frozen=True)
class ExtractionPlan:
    """When the run started, its id, what it asks the ERP for and the watermark it will store."""

    started: datetime
    run_id: str
    modified_since: str | None
    watermark: str

    @property
    def started_at(self) -> str:
        """The start time as the design document writes times."""
        return iso_utc(self.started)

    @property
    def since(self) -> datetime | None:
        """`modified_since` as the source takes it (None: everything)."""
        return datetime.fromisoformat(self.modified_since) if self.modified_since else None


def plan_extraction(
    config: ClientConfig, sync_type: SyncType, now: datetime, run_id: str | None = None
) -> ExtractionPlan:
    """The plan of a run starting `now` (floored to the second); a new run id unless given."""
    started = now.replace(microsecond=0)
    return ExtractionPlan(
        started=started,
        run_id=run_id or new_run_id(started),
        modified_since=modified_since(config, sync_type),
        watermark=extraction_watermark(started, config.siesa_timezone),
    )


def resumed_plan(
    run_id: str, started_at: str, modified_since: str | None, watermark: str
) -> ExtractionPlan:
    """The plan of a run the first invocation started, as its cursor carries it."""
    started = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    return ExtractionPlan(
        started=started, run_id=run_id, modified_since=modified_since, watermark=watermark
    )


@dataclass
class InvocationBudget:
    """When an extraction invocation hands back a cursor: its time runs low, or its page quota.

    `remaining_ms` is Lambda's `context.get_remaining_time_in_millis` (None:
    no clock, only the quota); `max_pages` 0 means no quota.
    """

    remaining_ms: Callable[[], int] | None
    reserve_ms: int
    max_pages: int = 0
    pages: int = 0

    def spent(self) -> bool:
        """Count one more page read; True when the invocation should stop after it."""
        self.pages += 1
        if self.max_pages and self.pages >= self.max_pages:
            return True
        return self.remaining_ms is not None and self.remaining_ms() < self.reserve_ms


def extract_pages(
    pages: Iterable[tuple[list[Record], dict[str, Any] | None]],
    writer: DedupWriter,
    budget: InvocationBudget,
) -> dict[str, Any] | None:
    """Pages through `writer` until the listing ends (None) or the budget runs out (its position).

    The listing stops only where it can resume (a position) and only when
    the dedup index outlives the invocation.
    """
    for records, position in pages:
        writer.add_page(records)
        if budget.spent() and position is not None and writer.index.durable:
            return position
    return None


def deduplicate(
    pages: Iterable[list[Record]], writer: DedupWriter, store: PageStore
) -> DedupOutcome:
    """Every record of every page through `writer`; where the kept copies are, and the counts."""
    writer.add_pages(pages)
    return writer.finish(store)
