"""A run's failed-records report: every record that did not reach the product, with why.

One line per record in `runs/{client_id}/{run_id}/failed-records.ndjson`:
id, stage (`mapping` or `product`), reason, retryable, and `record`, the raw
ERP record, so `siesa replay` can send it again through the current mapping;
a product-stage line also carries the `canonical` record. The mapping's
rejects come with their raw record from the transformer; for product-stage
failures the raw copies are found at the end, in one pass over the run's
extracted pages through the mapping (a record's canonical id is its key).

The summary shows the same lines capped (it travels in the workflow state).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contract import jsontext
from contract.loaded import LoadedMapping
from runtime.errors import RunDataError
from runtime.observability import logger
from runtime.runstore import NdjsonWriter, RunStore

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
        self.lines: list[dict[str, Any]] = []
        self._shown_bytes = 0
        self._deferred: list[dict[str, Any]] = []

    def add(self, line: dict[str, Any]) -> None:
        """One failed record (a line with its raw `record` already, or a product line to complete)."""
        record_id = _plain_id(line.get("id"))
        if record_id is not None:
            self.ids.add(record_id)
        self.count += 1
        self.lines.append({key: value for key, value in line.items() if key != "record"})
        if line.get("stage") == "mapping":
            self.writer.write(line)
        else:
            self._deferred.append(line)
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

    def finish(
        self, store: RunStore, raw_pages: Iterable[str], mapping: LoadedMapping | None
    ) -> str:
        """Attach raw ERP copies to the product-stage lines, write them, upload; returns the key."""
        raw = raw_copies(
            store,
            raw_pages,
            mapping,
            {
                record_id
                for line in self._deferred
                if (record_id := _plain_id(line.get("id"))) is not None
            },
        )
        for line in self._deferred:
            canonical = line.get("record")
            self.writer.write(
                {
                    **{key: value for key, value in line.items() if key != "record"},
                    "record": raw.get(str(line.get("id"))),
                    "canonical": canonical,
                }
            )
        self._deferred = []
        return self.writer.close()


def raw_copies(
    store: RunStore, pages: Iterable[str], mapping: LoadedMapping | None, wanted: set[str]
) -> dict[str, dict[str, Any]]:
    """The raw ERP records, from the run's extracted pages, whose canonical id is wanted.

    A one-to-many record is the raw copy of each of its lines.
    """
    found: dict[str, dict[str, Any]] = {}
    if not wanted or mapping is None:
        return found
    map_record = mapping.map_record
    try:
        for page in pages:
            for record in store.iter_lines(page):
                if not isinstance(record, dict):
                    continue
                try:
                    canonical, _ = map_record(record)
                except Exception:
                    continue
                for line in canonical:
                    record_id = _plain_id(line.get("id"))
                    if record_id in wanted and record_id is not None:
                        found[record_id] = record
                if len(found) == len(wanted):
                    return found
    except RunDataError:
        logger.warning(
            "the run's extracted pages could not be read: failed records lack raw copies"
        )
    return found
