"""Writes extracted pages so that a record seen twice keeps only its newest copy.

The ERP computes pages at request time, so a record changed while the
extractor pages through can appear on two pages (Connekta's pages even
overlap by design). Records stream straight into run-store pages; an index
of key -> number of the page holding the record's live copy remembers where
each record is. That index is the only state kept per record: one dict
entry whose value is the page's number, one int shared by every record of
the page, so a record costs its key string plus the entry (about 100 bytes
for a ten-character key), never the record.

Modified stamps are kept only where they are needed: for the open page
(with each record's slot, to replace it in place) and for the page written
last, where the duplicates of overlapping pages land. A duplicate whose
copy sits on an older page reads that page's stamps back from the run
store, once, keeping them while the next duplicates come from the same
page (a whole extra pass of the listing reads each old page once). So
memory holds one page, the stamps of at most STAMP_PAGES_KEPT pages, and
the index's entries of one ERP page: the index itself lives in a
`DedupIndex` (dedup_index.py), in DynamoDB when the extraction spans several
invocations. Such an extraction resumes with `count`, `duplicates` and the
stale copies noted so far (`stale`), and a copy whose index entry names a
page that does not hold it (an entry of a failed attempt) counts as new.

A newer copy replaces the old one in place while its page is still open;
once the old page is written, the stale copy is noted and the few affected
pages are rewritten at the end. An older copy arriving late is dropped;
of two copies with the same stamp, the later one is kept. The output is
exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.stages.dedup_index import DedupIndex, MemoryDedupIndex

Record = dict[str, Any]


class PageStore(Protocol):
    """Where written pages are read back, rewritten or removed (a RunStore)."""

    def read_page(self, key: str) -> list[Record]: ...

    def write_page(self, key: str, records: Iterable[Any]) -> int: ...

    def delete(self, key: str) -> None: ...


class PageSink(Protocol):
    """Where records are written a page at a time (a RunStore's PageWriter)."""

    @property
    def store(self) -> PageStore: ...

    @property
    def keys(self) -> list[str]: ...

    @property
    def open_page(self) -> int: ...

    def key_of(self, number: int) -> str: ...

    def write(self, record: Any) -> tuple[int, int]: ...

    def replace(self, index: int, record: Any) -> None: ...

    def close(self) -> list[str]: ...


STAMP_PAGES_KEPT = 2
"""Written pages whose stamps stay in memory (the most recently used: written or read back)."""


@dataclass
class DedupOutcome:
    """Where the deduplicated records are, and how many copies were dropped."""

    pages: list[str]
    count: int
    duplicates: int
    rewritten_pages: int = 0
    emptied: list[str] = field(default_factory=list)


@dataclass
class DedupWriter:
    """Feeds records into a page sink, keeping one copy per key (the newest)."""

    writer: PageSink
    key_of: Callable[[Record], str]
    modified_of: Callable[[Record], str]
    index: DedupIndex = field(default_factory=MemoryDedupIndex)
    count: int = 0
    """Distinct records so far (an extraction's earlier invocations included)."""
    duplicates: int = 0
    pages_read_back: int = 0
    stale: dict[int, set[str]] = field(default_factory=dict)
    """Written page -> keys whose copy there is stale (rewritten at the end)."""
    # the open page: its number, and key -> (slot in the page, modified stamp)
    _page: int = field(default=0, init=False, repr=False)
    _open: dict[str, tuple[int, str]] = field(default_factory=dict, init=False, repr=False)
    # written page -> key -> modified stamp, for at most STAMP_PAGES_KEPT pages
    _stamps: dict[int, dict[str, str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._page = self.writer.open_page

    def add(self, record: Record) -> None:
        """Take one record as the ERP sent it."""
        key = self.key_of(record)
        modified = self.modified_of(record)
        page = self.index.get(key)
        if page == self._page and key in self._open:
            self.duplicates += 1
            slot, held = self._open[key]
            if modified < held:
                return  # the copy we hold is newer
            self.writer.replace(slot, record)
            self._open[key] = (slot, modified)
            return
        held_stamp = None if page is None or page == self._page else self._stamp(page, key)
        if page is None or held_stamp is None:
            self.count += 1
            self._write(key, record, modified)
            return
        self.duplicates += 1
        if modified < held_stamp:
            return  # the copy we hold is newer
        self.stale.setdefault(page, set()).add(key)
        self._write(key, record, modified)

    def add_page(self, page: list[Record]) -> None:
        """Take every record of one ERP page (its index entries read and written in batches)."""
        self.index.prefetch(self.key_of(record) for record in page)
        for record in page:
            self.add(record)
        self.index.flush()

    def add_pages(self, pages: Iterable[list[Record]]) -> None:
        """Take every record of every page."""
        for page in pages:
            self.add_page(page)

    def suspend(self) -> int:
        """Write the open page (the next invocation starts a new one); returns its number."""
        self.writer.close()
        return self.writer.open_page

    def finish(self, store: PageStore) -> DedupOutcome:
        """Write the last page, then rewrite the pages that hold stale copies."""
        keys = self.writer.close()
        emptied: set[str] = set()
        for page_number, stale_keys in sorted(self.stale.items()):
            page_key = self.writer.key_of(page_number)
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
            count=self.count,
            duplicates=self.duplicates,
            rewritten_pages=len(self.stale),
            emptied=sorted(emptied),
        )

    def _write(self, key: str, record: Record, modified: str) -> None:
        """Append a record's copy to the open page; when that fills the page, a new one opens."""
        _, slot = self.writer.write(record)
        self.index.put(key, self._page)
        self._open[key] = (slot, modified)
        if self.writer.open_page != self._page:
            self._keep_stamps(self._page, {k: stamp for k, (_, stamp) in self._open.items()})
            self._page = self.writer.open_page
            self._open = {}

    def _stamp(self, page: int, key: str) -> str | None:
        """The modified stamp of `key`'s copy on a written page (read back when not kept).

        None when the page does not hold the key: its index entry came from an
        attempt whose pages were written over.
        """
        stamps = self._stamps.pop(page, None)
        if stamps is None:
            records = self.writer.store.read_page(self.writer.key_of(page))
            stamps = {self.key_of(record): self.modified_of(record) for record in records}
            self.pages_read_back += 1
        self._keep_stamps(page, stamps)
        return stamps.get(key)

    def _keep_stamps(self, page: int, stamps: dict[str, str]) -> None:
        """Keep a page's stamps as the most recently used; forget the least recently used."""
        self._stamps.pop(page, None)
        self._stamps[page] = stamps
        while len(self._stamps) > STAMP_PAGES_KEPT:
            del self._stamps[next(iter(self._stamps))]
