"""What the extractor needs from the ERP, whatever dialect the client's ERP speaks.

The REST dialect (`rest.py`) is the first; Connekta comes later behind the
same interface. Deduplication across pages is the extractor's job: it keeps,
per `record_key`, the copy with the greatest `record_modified`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

Position = dict[str, Any]
"""Where a listing resumes: small JSON the extractor's cursor carries between invocations."""


class SiesaSource(ABC):
    """Pages of raw ERP records for one client."""

    dialect: str

    @abstractmethod
    def iter_pages(self, modified_since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """Every page of products, in the ERP's order; only those changed since `modified_since`.

        `None` means everything (an initial sync). A naive datetime is read in
        the client's Siesa time zone. Raises SiesaAuthError at once on refused
        credentials, SiesaUnavailable / SiesaRateLimited when retries end.
        """

    def pages_from(
        self,
        modified_since: datetime | None,
        position: Position | None,
        distinct: Callable[[], int],
    ) -> Iterator[tuple[list[dict[str, Any]], Position | None]]:
        """Each page with the position after it: where a later invocation resumes the listing.

        `distinct` answers how many distinct records the extraction holds so far
        (its dedup index, across invocations). A position of None means the
        listing cannot stop after that page. This default cannot resume: it reads
        every page in one invocation.
        """
        if position is not None:
            raise ValueError(f"the {self.dialect} source cannot resume a listing")
        for page in self.iter_pages(modified_since):
            yield page, None

    def iter_stock_pages(self) -> Iterator[list[dict[str, Any]]]:
        """Every page of stock rows `{"f_codigo", "f_bodega", "f_cantidad"}`, ordered by item.

        A stock-only sync's read (runtime/stages/stock.py); a dialect without
        one says so.
        """
        raise NotImplementedError(f"the {self.dialect} dialect has no stock listing")

    @abstractmethod
    def record_key(self, record: dict[str, Any]) -> str:
        """The record's identity across pages (the trimmed item code)."""

    @abstractmethod
    def record_modified(self, record: dict[str, Any]) -> str:
        """The record's last change as a string that sorts in time order."""

    @abstractmethod
    def probe(self) -> str:
        """One cheap read (the first record), one attempt, no retry: `siesa client check`.

        Returns the URL it read; raises the dialect's runtime error as a sync would.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the HTTP connections this source opened."""

    def __enter__(self) -> SiesaSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
