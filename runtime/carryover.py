"""The records a run carries over to the next (the client's retry state): what makes the watermark failure-aware.

The watermark moves to a finished run's extraction start, past every record
that run handled, including those it failed. So each finished run also
leaves, in `runs/{client_id}/retry-state.json`, the records it did not load:

- `transient` (the failure said retrying may succeed: the product gave no
  verdict on it): retried by the next run, whatever happens;
- `rejected` (the mapping rejected it, or the product refused it for what it
  holds): retried only when the mapping changes, i.e. when the next run's
  mapping module has another SHA-256 than the one that failed it. A record
  that changes in the ERP comes back through the watermark anyway.

Each entry names the run whose failed-records report holds the record's raw
ERP copy, so the transformer of the next run maps that copy again, unless
the run extracted a newer one. A loader writes the state before it moves the
watermark, and never over a state a newer run wrote. The state lives under
the client's run data prefix, the only place the handlers may write; every
finished run rewrites it, so data retention never ages it out while the
client syncs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from runtime.client_state import store_unless_newer
from runtime.config import validate_client_id
from runtime.errors import RunDataError
from runtime.runstore import RunStore

STATE_NAME = "retry-state.json"
Kind = Literal["transient", "rejected"]


def state_key(client_id: str) -> str:
    """`runs/{client_id}/retry-state.json`."""
    return f"runs/{validate_client_id(client_id)}/{STATE_NAME}"


@dataclass(frozen=True)
class RetryEntry:
    """One record to try again, and where its raw ERP copy is."""

    kind: Kind
    run_id: str
    stage: str
    reason: str
    mapping_sha256: str | None = None

    def due(self, mapping_sha256: str | None) -> bool:
        """Whether a run with this mapping retries the record."""
        if self.kind == "transient":
            return True
        return mapping_sha256 is not None and mapping_sha256 != self.mapping_sha256

    def to_json(self) -> dict[str, Any]:
        """The entry as stored."""
        return {
            "kind": self.kind,
            "run_id": self.run_id,
            "stage": self.stage,
            "reason": self.reason,
            "mapping_sha256": self.mapping_sha256,
        }


@dataclass
class RetryState:
    """A client's records to try again, by record id; `run_id` is the run that wrote it."""

    client_id: str
    run_id: str | None = None
    records: dict[str, RetryEntry] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "records": {key: entry.to_json() for key, entry in sorted(self.records.items())},
        }

    def due(self, mapping_sha256: str | None) -> dict[str, RetryEntry]:
        """The entries a run with this mapping retries."""
        return {key: entry for key, entry in self.records.items() if entry.due(mapping_sha256)}


def entry_for(line: Mapping[str, Any], run_id: str, mapping_sha256: str | None) -> RetryEntry:
    """The retry entry of one failed-records line of `run_id`."""
    return RetryEntry(
        kind="transient" if line.get("retryable") else "rejected",
        run_id=run_id,
        stage=str(line.get("stage") or "product"),
        reason=str(line.get("reason") or ""),
        mapping_sha256=mapping_sha256,
    )


def next_state(
    previous: RetryState,
    *,
    run_id: str,
    handled: Iterable[str],
    failed: Mapping[str, RetryEntry],
) -> RetryState:
    """After a finished run: drop what it handled, keep the rest, add what it failed (pure)."""
    records = dict(previous.records)
    for record_id in handled:
        records.pop(record_id, None)
    records.update(failed)
    return RetryState(previous.client_id, run_id, records)


def _entry(value: Any) -> RetryEntry | None:
    if not isinstance(value, dict) or value.get("kind") not in ("transient", "rejected"):
        return None
    return RetryEntry(
        kind=value["kind"],
        run_id=str(value.get("run_id", "")),
        stage=str(value.get("stage", "")),
        reason=str(value.get("reason", "")),
        mapping_sha256=value.get("mapping_sha256"),
    )


def read_state(store: RunStore, client_id: str) -> RetryState:
    """The client's retry state; an empty one when there is none yet."""
    document = store.get_json_if_present(state_key(client_id))
    if document is None:
        return RetryState(client_id)
    if not isinstance(document, dict) or not isinstance(document.get("records"), dict):
        raise RunDataError(f"s3://{store.bucket}/{state_key(client_id)} is not a retry state")
    records = {
        str(key): entry
        for key, value in document["records"].items()
        if (entry := _entry(value)) is not None
    }
    run_id = document.get("run_id")
    return RetryState(client_id, run_id if isinstance(run_id, str) else None, records)


def write_state(store: RunStore, state: RetryState) -> bool:
    """Store the state unless a newer run's state is there already; False when it was."""
    stored = store.get_json_if_present(state_key(state.client_id))  # its run id: no state built
    stored_run_id = stored.get("run_id") if isinstance(stored, dict) else None
    del stored
    return store_unless_newer(
        store,
        state_key(state.client_id),
        stored_run_id=stored_run_id if isinstance(stored_run_id, str) else None,
        run_id=state.run_id,
        document=state.to_json(),
    )
