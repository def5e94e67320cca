"""The extract stage's core: what a run asks the ERP for, and the ERP's pages deduplicated.

The watermark is the run's start time, taken before the first page:
records changed while the run pages through are caught by the next
incremental run. Pages stream through a `DedupWriter` (dedup.py), which
keeps one copy per record, the newest, and writes them to a page sink.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

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


def deduplicate(
    pages: Iterable[list[Record]], writer: DedupWriter, store: PageStore
) -> DedupOutcome:
    """Every record of every page through `writer`; where the kept copies are, and the counts."""
    writer.add_pages(pages)
    return writer.finish(store)
