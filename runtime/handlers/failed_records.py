"""A run's failed-records report: every record that did not reach the product, with why.

One line per record in `runs/{client_id}/{run_id}/failed-records.ndjson`:
id, stage (`mapping` or `product`), reason, retryable, and `record`, the raw
ERP record, so `siesa replay` can send it again through the current mapping;
a product-stage line also carries the `canonical` record. The mapping's
rejects come with their raw record from the transformer; for product-stage
failures the raw copies are read at the end from where the transformer
said each record was (its page line's `position`, `page key#line`), in one
pass over the pages named: no mapping runs here.

The summary shows the same lines capped (it travels in the workflow state).
What the end of a run needs of every failure is not held either: the
alert's reasons are counted as they come (`ReasonTally`), and the retry
state's fields are set aside on disk by record id (`RunFailures`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from contract import jsontext
from runtime.carryover import RunFailures
from runtime.errors import RunDataError
from runtime.observability import logger
from runtime.runstore import NdjsonWriter, RunStore
from runtime.stages.failed_alert import ReasonTally

SUMMARY_MAX_FAILED = 1000
SUMMARY_MAX_FAILED_BYTES = 128 * 1024
"""The summary travels in the workflow state (256 KB): its failed_records list stays under this."""
SUMMARY_MAX_ERROR_CHARS = 300


def _plain_id(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    return str(value)


class FailedRecords:
    """Streams failed records to S3 and keeps the capped list the summary shows.

    Mapping-stage lines are written as they come; product-stage lines wait
    for `finish`, which attaches their raw ERP copies. `ids` holds every
    record id reported, so no record is reported twice.
    """

    def __init__(self, writer: NdjsonWriter) -> None:
        self.writer = writer
        self.count = 0
        self.shown: list[dict[str, Any]] = []
        self.truncated = False
        self.ids: set[str] = set()
        self.reasons = ReasonTally()
        self.for_retry = RunFailures()
        """The failures with an id, for the retry state (set aside on disk; `close` drops them)."""
        self._shown_bytes = 0
        self._deferred: list[dict[str, Any]] = []

    def add(self, line: dict[str, Any]) -> None:
        """One failed record (a line with its raw `record` already, or a product line to complete)."""
        self._note(line)
        if line.get("stage") == "mapping":
            self.writer.write(line)
        else:
            self._deferred.append(line)

    def add_complete(self, line: dict[str, Any]) -> None:
        """One line of a part's finished report (its raw copy already attached): written as is."""
        self._note(line)
        self.writer.write(line)

    def _note(self, line: dict[str, Any]) -> None:
        """Count a failed record and its reason, set it aside for retry, show it in the summary."""
        record_id = _plain_id(line.get("id"))
        if record_id is not None:
            self.ids.add(record_id)
            self.for_retry.add(record_id, line)
        self.count += 1
        self.reasons.add(line)
        self._show(line)

    def has(self, record_id: Any) -> bool:
        """Whether this record is reported already."""
        plain = _plain_id(record_id)
        return plain is not None and plain in self.ids

    def _show(self, line: dict[str, Any]) -> None:
        if self.truncated:
            return
        error = str(line.get("reason", ""))
        if len(error) > SUMMARY_MAX_ERROR_CHARS:
            error = error[: SUMMARY_MAX_ERROR_CHARS - 3] + "..."
        entry = {"id": line.get("id"), "stage": line.get("stage"), "error": error}
        size = len(jsontext.dumps(entry))
        if (
            len(self.shown) >= SUMMARY_MAX_FAILED
            or self._shown_bytes + size > SUMMARY_MAX_FAILED_BYTES
        ):
            self.truncated = True
            return
        self.shown.append(entry)
        self._shown_bytes += size

    def finish(self, store: RunStore, raw_pages: Iterable[str]) -> str:
        """Attach raw ERP copies to the product-stage lines, write them, upload; returns the key."""
        positions = {str(line.get("position")) for line in self._deferred if line.get("position")}
        raw = raw_copies(store, raw_pages, positions)
        for line in self._deferred:
            canonical = line.get("record")
            self.writer.write(
                {
                    **{key: value for key, value in line.items() if key != "record"},
                    "record": raw.get(str(line.get("position"))),
                    "canonical": canonical,
                }
            )
        self._deferred = []
        return self.writer.close()


def raw_copies(
    store: RunStore, pages: Iterable[str], positions: set[str]
) -> dict[str, dict[str, Any]]:
    """The raw ERP records at `positions` (`page key#line number`) of the run's own raw pages.

    A position on a page that is not one of `pages` (the run's extracted
    pages and retried copies) is ignored. A one-to-many record is the raw
    copy of each of its lines (they share its position).
    """
    wanted: dict[str, set[int]] = defaultdict(set)
    for position in positions:
        key, _, line = position.rpartition("#")
        if line.isdigit():
            wanted[key].add(int(line))
    found: dict[str, dict[str, Any]] = {}
    try:
        for page in pages:
            numbers = wanted.get(page)
            if not numbers:
                continue
            for number, record in enumerate(store.iter_lines(page), start=1):
                if number in numbers and isinstance(record, dict):
                    found[f"{page}#{number}"] = record
    except RunDataError:
        logger.warning(
            "the run's extracted pages could not be read: failed records lack raw copies"
        )
    return found
