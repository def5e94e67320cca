"""Writes extracted pages so that a record seen twice keeps only its newest copy.

The ERP computes pages at request time, so a record changed while the
extractor pages through can appear on two pages. Records stream straight
into run-store pages; an index of key -> (page, slot, modified) remembers
where each record's live copy is (a few dozen bytes per record, never the
records). A newer copy replaces the old one in place while its page is
still open; once the old page is written, the stale copy is noted and the
few affected pages are rewritten at the end. An older copy arriving late is
dropped. The output is exact and memory holds one page plus the index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from runtime.runstore import PageWriter, RunStore

Record = dict[str, Any]


@dataclass
class DedupOutcome:
    """Where the deduplicated records are, and how many copies were dropped."""

    pages: list[str]
    count: int
    duplicates: int
    rewritten_pages: int = 0


@dataclass
class _Seen:
    page: int
    slot: int
    modified: str


@dataclass
class DedupWriter:
    """Feeds records into a PageWriter, keeping one copy per key (the newest)."""

    writer: PageWriter
    key_of: Callable[[Record], str]
    modified_of: Callable[[Record], str]
    _index: dict[str, _Seen] = field(default_factory=dict)
    _stale: dict[int, set[str]] = field(default_factory=dict)
    duplicates: int = 0

    def add(self, record: Record) -> None:
        """Take one record as the ERP sent it."""
        key = self.key_of(record)
        modified = self.modified_of(record)
        seen = self._index.get(key)
        if seen is None:
            page, slot = self.writer.write(record)
            self._index[key] = _Seen(page, slot, modified)
            return
        self.duplicates += 1
        if modified < seen.modified:
            return  # the copy we hold is newer
        if seen.page == self.writer.open_page:
            self.writer.replace(seen.slot, record)
            seen.modified = modified
            return
        self._stale.setdefault(seen.page, set()).add(key)
        page, slot = self.writer.write(record)
        self._index[key] = _Seen(page, slot, modified)

    def add_pages(self, pages: Iterable[list[Record]]) -> None:
        """Take every record of every page."""
        for page in pages:
            for record in page:
                self.add(record)

    def finish(self, store: RunStore) -> DedupOutcome:
        """Write the last page, then rewrite the pages that hold stale copies."""
        keys = self.writer.close()
        emptied: set[str] = set()
        for page_number, stale_keys in sorted(self._stale.items()):
            page_key = keys[page_number - 1]
            kept = [
                record
                for record in store.read_page(page_key)
                if self.key_of(record) not in stale_keys
            ]
            if kept:
                store.write_page(page_key, kept)
            else:
                store.delete(page_key)
                emptied.add(page_key)
        return DedupOutcome(
            pages=[key for key in keys if key not in emptied],
            count=len(self._index),
            duplicates=self.duplicates,
            rewritten_pages=len(self._stale),
        )
