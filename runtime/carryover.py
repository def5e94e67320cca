"""The records a run carries over to the next (the client's retry state): what makes the watermark failure-aware.

The watermark moves to a finished run's extraction start, past every record
that run handled, including those it failed. So each finished run also
leaves, in `runs/{client_id}/retry-state/`, the records it did not load:

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
the client's run data prefix, the only place the handlers may write.

The state is kept in shards by a hash of the record id (runtime/shards.py
`Layout`, runtime/sharded_state.py: one object until a run fails more than
RETRY_PER_SHARD records), so the end of a run takes one shard at a time:
its own failures come set aside by shard on disk (`RunFailures`), and only
the shards holding entries or failures are read or written. An older
loader's single `runs/{client_id}/retry-state.json` is split into shards
by the next run, then removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from contract import jsontext
from runtime.config import validate_client_id
from runtime.run_ids import RunIds
from runtime.runstore import RunStore
from runtime.sharded_state import ShardedState, StateKind
from runtime.shards import Layout, LineSpool, shard_of

STATE_NAME = "retry-state.json"
"""The one object an older loader kept the state in."""
RETRY_PER_SHARD = 5_000
"""Entries a shard holds, about: a run that fails more spreads the state over more shards."""
RETRY_MOST_SHARDS = 512
Kind = Literal["transient", "rejected"]


def state_key(client_id: str) -> str:
    """`runs/{client_id}/retry-state.json`: an older loader's single object."""
    return f"runs/{validate_client_id(client_id)}/{STATE_NAME}"


def state_prefix(client_id: str) -> str:
    """`runs/{client_id}/retry-state/`: the shards."""
    return f"runs/{validate_client_id(client_id)}/retry-state/"


def retry_layout(client_id: str) -> Layout:
    """Where the client's retry state is: one shard at the prefix, more under `n{N}/`."""
    return Layout(state_prefix(client_id), 1, RETRY_PER_SHARD, RETRY_MOST_SHARDS)


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
    shard: int | None = None
    """Which of the client's shards this is (None: all of them)."""

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "shard": self.shard,
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
    return RetryState(previous.client_id, run_id, records, previous.shard)


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


def _retry_kind(client_id: str) -> StateKind[RetryState]:
    """How a client's retry-state shards are read, narrowed and split."""

    def parse(document: dict[str, Any], shard: int | None) -> RetryState | None:
        if not isinstance(document.get("records"), dict):
            return None
        records = {
            str(key): entry
            for key, value in document["records"].items()
            if (entry := _entry(value)) is not None
        }
        run_id = document.get("run_id")
        return RetryState(client_id, run_id if isinstance(run_id, str) else None, records, shard)

    def narrow(state: RetryState, shard: int, shards: int) -> RetryState:
        records = {rid: e for rid, e in state.records.items() if shard_of(rid, shards) == shard}
        return RetryState(client_id, state.run_id, records, shard)

    def split(state: RetryState, shards: int) -> dict[int, RetryState]:
        parts: dict[int, RetryState] = {}
        for rid, entry in state.records.items():
            shard = shard_of(rid, shards)
            parts.setdefault(shard, RetryState(client_id, state.run_id, shard=shard))
            parts[shard].records[rid] = entry
        return parts

    return StateKind(
        "retry state", parse, lambda shard: RetryState(client_id, shard=shard), narrow, split
    )


class RetryShards(ShardedState[RetryState]):
    """A client's retry state as stored, read and written one shard at a time."""

    def __init__(self, store: RunStore, client_id: str, *, grow_to: int = 0) -> None:
        super().__init__(
            store,
            retry_layout(client_id),
            _retry_kind(client_id),
            grow_to=grow_to,
            legacy_key=state_key(client_id),
        )


def read_state(store: RunStore, client_id: str) -> RetryState:
    """The client's whole retry state (every shard); an empty one when there is none yet.

    What the next run retries: as large as the failures waiting, not the catalog.
    """
    shards = RetryShards(store, client_id)
    whole = RetryState(client_id)
    for shard in shards.order():
        state = shards.read(shard)
        whole.records.update(state.records)
        whole.run_id = max(filter(None, (whole.run_id, state.run_id)), default=None)
    return whole


class RunFailures:
    """A run's failed records as the retry state takes them: set aside on disk by record id.

    The end of a run writes the retry state shard by shard; holding every
    failure of the run for it grew the step with the failures (about 2 KB
    each), so each is spooled as its id and kept fields, read back by shard.
    """

    def __init__(self) -> None:
        self._spool = LineSpool()

    @property
    def count(self) -> int:
        """Failed records set aside."""
        return self._spool.count

    def add(self, record_id: str, line: Mapping[str, Any]) -> None:
        """One failed record (its id, stage, reason and whether retrying may succeed)."""
        kept = [record_id, line.get("stage"), line.get("reason"), bool(line.get("retryable"))]
        self._spool.add(record_id, jsontext.dumps(kept).encode("utf-8") + b"\n")

    def touched(self, shards: int) -> list[int]:
        """The shards (of `shards`) with failures."""
        return self._spool.touched(shards)

    def entries(
        self, shard: int, shards: int, run_id: str, mapping_sha256: str | None
    ) -> Iterator[tuple[str, RetryEntry]]:
        """One shard's failures as retry entries, in the order they came (a later one wins)."""
        for raw in self._spool.lines(shard, shards):
            record_id, stage, reason, retryable = jsontext.loads(raw)
            line = {"stage": stage, "reason": reason, "retryable": retryable}
            yield record_id, entry_for(line, run_id, mapping_sha256)

    def close(self) -> None:
        """Drop the spool."""
        self._spool.close()


def keep_for_retry(
    store: RunStore,
    client_id: str,
    run_id: str,
    ids: RunIds,
    failures: RunFailures,
    mapping_sha256: str | None,
) -> bool:
    """Hand a finished run's failures to the retry state, shard by shard; False if a newer run's was there.

    Per shard: drop the ids the run saw (it handled or skipped them), keep
    the rest, add the run's failures. A shard with neither stored entries
    nor failures is not read or written (unless the layout moves).
    """
    state = RetryShards(store, client_id, grow_to=failures.count)
    failed_in = set(failures.touched(state.shards))
    newer = False
    for shard in state.order():
        before = state.read(shard)
        if not before.records and shard not in failed_in and not state.moved:
            continue
        handled = ids.of(shard, state.shards).seen if before.records else set()
        fresh = dict(failures.entries(shard, state.shards, run_id, mapping_sha256))
        after = next_state(before, run_id=run_id, handled=handled, failed=fresh)
        changed = after.records != before.records
        newer = not state.write(shard, before, after, changed=changed) or newer
    if not newer:
        state.settle()
    return not newer
