"""The extract core with pages held in memory: no S3, no moto."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from runtime.config import ClientConfig
from runtime.stages.dedup import DedupWriter
from runtime.stages.dedup_index import MemoryDedupIndex
from runtime.stages.extract import (
    InvocationBudget,
    deduplicate,
    extract_pages,
    plan_extraction,
)

NOW = datetime(2025, 1, 15, 15, 4, 5, 678_000, tzinfo=UTC)


def _config(**overrides: Any) -> ClientConfig:
    values: dict[str, Any] = {
        "client_id": "cliente-a",
        "client_name": "Empresa A S.A.",
        "enabled": True,
        "product_type": "kong",
        "siesa_api_url": "https://cliente-a.siesa.com/api/v1",
        "product_api_url": "https://cliente-a.kong.com/api/v1",
        "sync_schedule": "rate(6 hours)",
        "field_mappings_key": "kong",
    }
    return ClientConfig.model_validate({**values, **overrides})


class MemoryPages:
    """A page sink and page store on a dict: pages of `page_size` records."""

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.pages: dict[str, list[dict[str, Any]]] = {}
        self.keys: list[str] = []
        self._open: list[dict[str, Any]] = []

    @property
    def store(self) -> MemoryPages:
        return self

    @property
    def open_page(self) -> int:
        return len(self.keys) + 1

    def key_of(self, number: int) -> str:
        return f"page-{number}"

    def write(self, record: Any) -> tuple[int, int]:
        self._open.append(dict(record))
        where = (self.open_page, len(self._open) - 1)
        if len(self._open) >= self.page_size:
            self._flush()
        return where

    def replace(self, index: int, record: Any) -> None:
        self._open[index] = dict(record)

    def close(self) -> list[str]:
        self._flush()
        return list(self.keys)

    def _flush(self) -> None:
        if self._open:
            key = f"page-{self.open_page}"
            self.pages[key], self._open = self._open, []
            self.keys.append(key)

    def read_page(self, key: str) -> list[dict[str, Any]]:
        return list(self.pages[key])

    def write_page(self, key: str, records: Iterable[Any]) -> int:
        self.pages[key] = list(records)
        return len(self.pages[key])

    def delete(self, key: str) -> None:
        del self.pages[key]


def _rec(code: str, modified: str, note: str = "") -> dict[str, Any]:
    return {"f_codigo": code, "f_fecha_modificacion": modified, "note": note}


def _dedup(pages: list[list[dict[str, Any]]], page_size: int) -> tuple[MemoryPages, Any]:
    sink = MemoryPages(page_size)
    writer = DedupWriter(
        sink, key_of=lambda r: r["f_codigo"], modified_of=lambda r: r["f_fecha_modificacion"]
    )
    return sink, deduplicate(pages, writer, sink)


def test_the_newest_copy_of_each_record_is_kept_across_pages() -> None:
    sink, outcome = _dedup(
        [
            [_rec("A", "10:00", "old"), _rec("B", "10:01")],
            [_rec("C", "10:02"), _rec("A", "10:05", "new")],
            [_rec("B", "09:00", "stale copy")],
        ],
        page_size=2,
    )
    kept = [(r["f_codigo"], r["note"]) for key in outcome.pages for r in sink.pages[key]]
    assert kept == [("B", ""), ("C", ""), ("A", "new")]
    assert (outcome.count, outcome.duplicates, outcome.rewritten_pages) == (3, 2, 1)


def test_a_page_left_empty_by_deduplication_is_removed() -> None:
    sink, outcome = _dedup([[_rec("A", "10:00")], [_rec("A", "10:01", "new")]], page_size=1)
    assert outcome.pages == ["page-2"] and list(sink.pages) == ["page-2"]
    assert sink.pages["page-2"][0]["note"] == "new"


def test_the_plan_takes_the_watermark_at_the_start_in_the_clients_zone() -> None:
    config = _config(
        last_sync_watermark="2025-01-14T10:00:00-05:00", siesa_timezone="America/Bogota"
    )
    plan = plan_extraction(config, "incremental", NOW)
    assert plan.started_at == "2025-01-15T15:04:05Z"
    assert plan.watermark == "2025-01-15T10:04:05-05:00"
    assert plan.modified_since == "2025-01-14T10:00:00-05:00"
    assert plan.since == datetime.fromisoformat("2025-01-14T10:00:00-05:00")
    assert plan.run_id.startswith("20250115T150405Z-000")


def test_an_initial_sync_asks_for_everything_and_keeps_a_given_run_id() -> None:
    config = _config(last_sync_watermark="2025-01-14T10:00:00-05:00")
    plan = plan_extraction(config, "initial", NOW, "20250115T150405Z-3f9a1c")
    assert plan.run_id == "20250115T150405Z-3f9a1c"
    assert plan.modified_since is None and plan.since is None


def test_an_invocation_stops_when_its_time_runs_low_or_its_page_quota_is_read() -> None:
    left = [900_000, 200_000, 119_999]
    by_time = InvocationBudget(lambda: left.pop(0), reserve_ms=120_000)
    assert [by_time.spent() for _ in range(3)] == [False, False, True]
    by_quota = InvocationBudget(None, reserve_ms=120_000, max_pages=2)
    assert [by_quota.spent() for _ in range(2)] == [False, True]


def test_a_listing_stops_only_where_it_can_resume_and_its_index_survives() -> None:
    sink = MemoryPages(2)
    pages = [([_rec("A", "10:00")], None), ([_rec("B", "10:00")], {"page": 3})]
    writer = DedupWriter(
        sink, key_of=lambda r: r["f_codigo"], modified_of=lambda r: r["f_fecha_modificacion"]
    )
    # an in-memory index would not survive the invocation: the listing is read to its end
    assert extract_pages(iter(pages), writer, InvocationBudget(None, 0, max_pages=1)) is None
    writer2 = DedupWriter(
        MemoryPages(2),
        key_of=lambda r: r["f_codigo"],
        modified_of=lambda r: r["f_fecha_modificacion"],
        index=MemoryDedupIndex(durable=True),
    )
    # the first page has no position to resume at, so the quota stops after the second
    position = extract_pages(iter(pages), writer2, InvocationBudget(None, 0, max_pages=1))
    assert position == {"page": 3}
