"""The records a run retries from the client's retry state, as raw ERP copies.

The transformer asks for the entries due with its mapping (transient ones
always, rejected ones when the mapping changed) that the run did not
extract itself (an extracted copy is at least as new), and maps the raw
copies found in the failed-records reports of the runs that failed them.
An entry whose report is gone or holds no raw copy is skipped with a
warning: it stays in the state, and the record returns when it changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import Any

from contract import jsontext
from runtime.carryover import RetryEntry, read_state
from runtime.errors import RunDataError
from runtime.observability import logger
from runtime.runstore import RunStore, failed_records_key


def due_copies(
    store: RunStore, client_id: str, mapping_sha256: str | None, seen: Collection[str]
) -> Iterator[dict[str, Any]]:
    """Raw ERP copies of the records to retry, one per record (several line ids may share one)."""
    due = {
        record_id: entry
        for record_id, entry in read_state(store, client_id).due(mapping_sha256).items()
        if record_id not in seen
    }
    if not due:
        return
    by_run: dict[str, dict[str, RetryEntry]] = defaultdict(dict)
    for record_id, entry in due.items():
        by_run[entry.run_id][record_id] = entry
    found: set[str] = set()
    given: set[str] = set()
    for run_id, wanted in sorted(by_run.items()):
        try:
            for line in store.iter_lines(failed_records_key(client_id, run_id)):
                if not isinstance(line, dict):
                    continue
                line_id, record = str(line.get("id")), line.get("record")
                if line_id in wanted and line_id not in found and isinstance(record, dict):
                    found.add(line_id)
                    copy = jsontext.dumps(record, sort_keys=True)
                    if copy not in given:  # two failed lines of one ERP record: one copy
                        given.add(copy)
                        yield record
        except RunDataError:
            logger.warning(f"the failed-records report of run {run_id} is gone; its retries wait")
    lacking = sorted(set(due) - found)
    if lacking:
        logger.warning(
            f"{len(lacking)} record(s) due for retry have no raw copy; they return when they change",
            extra={"metadata": {"ids": lacking[:20]}},
        )
