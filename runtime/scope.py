"""Records leaving a client's scope: which records the product holds live, and which left.

The platform keeps, per client, the ids it loaded into the product and that
are still live, in shards under `runs/{client_id}/live-ids/` chosen by a hash
of the id (written by the loader beside the retry state, with the same
newer-run guard; runtime/shards.py `Layout`: one shard for a new client, and a
full sync picks more, about LIVE_PER_SHARD ids each, when the catalog grows), so the end of a
run takes one shard at a time and its memory does not grow with the catalog
(runtime/run_ids.py). A client whose ids an older loader kept in one
`runs/{client_id}/live-ids.json` has them moved into the shards by its next
run. A live record LEAVES
SCOPE when a later run

- has it skipped by the mapping (a `skip when` rule: a skip line with its id), or
- is a full sync (`initial`) whose extract does not hold it at all (deleted
  or deactivated in the ERP). Incremental syncs see only changed records, so
  they cannot see a deletion: deletions are found by the next full sync.

The client's `left_scope` choice says what such a record becomes (the loader
does it through the adapter: runtime/handlers/leaving.py). An action that
fails keeps the id `pending` and every later run tries it again, until it is
done or the record comes back. A full sync whose extract lacks more than
MAX_ABSENT_SHARE of the live records is taken for a broken extract: those
records are reported, nothing is changed (counted over every shard).

Reports of a run: `skipped.ndjson` (transformer, one line per skipped record)
and `left-scope.ndjson` (loader, one line per record that left scope, with
what became of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from runtime.config import validate_client_id
from runtime.runstore import RunStore, part_prefix, run_prefix
from runtime.sharded_state import ShardedState, StateKind
from runtime.shards import Layout, shard_of

LIVE_NAME = "live-ids.json"
"""The one object an older loader kept every live id in."""
LIVE_BASE_SHARDS = 16
"""The layout of live ids stored before `layout.json` existed (their shards at the prefix)."""
LIVE_PER_SHARD = 8_000
"""A full sync keeps about this many ids a shard (128 shards at 1,000,000 products)..."""
LIVE_MOST_SHARDS = 512
"""... in at most this many."""
MAX_ABSENT_SHARE = 0.5
SKIPPED = "skipped by the mapping"
ABSENT = "absent from the ERP's full extract"


def skipped_key(client_id: str, run_id: str, part: str | None = None) -> str:
    """One line per record the mapping skipped."""
    return part_prefix(client_id, run_id, part) + "skipped.ndjson"


def left_scope_key(client_id: str, run_id: str) -> str:
    """One line per record that left the client's scope in this run, and its outcome."""
    return run_prefix(client_id, run_id) + "left-scope.ndjson"


def live_key(client_id: str) -> str:
    """`runs/{client_id}/live-ids.json`: an older loader's single object."""
    return f"runs/{validate_client_id(client_id)}/{LIVE_NAME}"


def live_prefix(client_id: str) -> str:
    """`runs/{client_id}/live-ids/`: the shards."""
    return f"runs/{validate_client_id(client_id)}/live-ids/"


def live_layout(client_id: str) -> Layout:
    """Where the client's live ids are, and how many shards a full sync picks."""
    return Layout(live_prefix(client_id), LIVE_BASE_SHARDS, LIVE_PER_SHARD, LIVE_MOST_SHARDS)


@dataclass
class LiveState:
    """The ids the product holds live for a client, and those whose leaving action is pending."""

    client_id: str
    run_id: str | None = None
    ids: set[str] = field(default_factory=set)
    pending: dict[str, str] = field(default_factory=dict)
    """Left scope, action not done yet: id -> why it left."""
    shard: int | None = None
    """Which of the client's shards this is (None: all of them)."""

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "shard": self.shard,
            "ids": sorted(self.ids),
            "pending": dict(sorted(self.pending.items())),
        }


@dataclass(frozen=True)
class Leaving:
    """The records that leave scope in a run (id -> why), and those held back as a broken extract."""

    records: dict[str, str]
    held_back: int = 0


def leaving(
    state: LiveState,
    *,
    full_sync: bool,
    seen: Iterable[str],
    skipped: Iterable[str],
    broken_extract: bool | None = None,
) -> Leaving:
    """Which live records leave scope in a run that saw `seen` ids and skipped `skipped` (pure).

    `broken_extract`: whether the full extract is taken for a broken one, decided
    over every shard of the client (`is_broken_extract`); None decides it from
    `state` alone.
    """
    seen_ids, skipped_ids = _as_set(seen), _as_set(skipped)
    records = {rid: why for rid, why in state.pending.items() if rid not in seen_ids - skipped_ids}
    records.update({rid: SKIPPED for rid in state.ids & skipped_ids})
    if not full_sync:
        return Leaving(records)
    absent = absent_ids(state, seen_ids, skipped_ids)
    if broken_extract is None:
        broken_extract = is_broken_extract(len(state.ids), len(absent))
    if broken_extract:
        return Leaving(records, held_back=len(absent))
    records.update({rid: ABSENT for rid in absent})
    return Leaving(records)


def absent_ids(state: LiveState, seen: Set[str], skipped: Set[str]) -> set[str]:
    """The live ids a full extract lacks (`seen` holds every id the run saw)."""
    return state.ids - seen - skipped


def is_broken_extract(live: int, absent: int) -> bool:
    """A full extract lacking more than MAX_ABSENT_SHARE of the live records is taken for broken."""
    return live > 0 and absent > MAX_ABSENT_SHARE * live


def next_live(
    state: LiveState,
    *,
    run_id: str,
    loaded: Iterable[str],
    left: Iterable[str],
    pending: Mapping[str, str],
) -> LiveState:
    """After a run: drop what left scope, keep what is pending, add what it loaded (pure)."""
    loaded_ids = _as_set(loaded)
    ids = state.ids - _as_set(left)
    ids.difference_update(pending)
    ids |= loaded_ids
    kept = {rid: why for rid, why in pending.items() if rid not in loaded_ids}
    return LiveState(state.client_id, run_id, ids, kept, state.shard)


def _as_set(ids: Iterable[str]) -> Set[str]:
    """`ids` as a set, not copied when it is one: a run's ids are many, each copy costs memory."""
    return ids if isinstance(ids, Set) else set(ids)


class LiveShards(ShardedState[LiveState]):
    """A client's live ids as stored, read and written one shard at a time (runtime/sharded_state.py).

    A full sync (`full_sync_ids`: about how many ids it saw) that needs more
    shards than there are writes a new layout; the number never shrinks (a
    full extract that lacks most ids is taken for a broken one, and keeps
    them). A client whose ids an older loader kept in `live-ids.json` has
    them split into shards here.
    """

    def __init__(
        self,
        store: RunStore,
        client_id: str,
        *,
        full_sync_ids: int | None = None,
    ) -> None:
        self.client_id = client_id
        super().__init__(
            store,
            live_layout(client_id),
            _live_kind(client_id),
            grow_to=full_sync_ids or 0,
            legacy_key=live_key(client_id),
        )

    def write_live(self, shard: int, before: LiveState, after: LiveState) -> bool:
        """Store a shard's new ids unless a newer run's are there (an unchanged shard is not)."""
        changed = (before.ids, before.pending) != (after.ids, after.pending)
        return self.write(shard, before, after, changed=changed)


def read_live(store: RunStore, client_id: str) -> LiveState:
    """Every shard of the client's live ids in one state (an operator's view: `siesa reconcile`)."""
    live = LiveShards(store, client_id)
    whole = LiveState(client_id)
    for shard in live.order():
        state = live.read(shard)
        whole.ids |= state.ids
        whole.pending.update(state.pending)
        whole.run_id = max(filter(None, (whole.run_id, state.run_id)), default=None)
    return whole


def _live_kind(client_id: str) -> StateKind[LiveState]:
    """How a client's live-ids shards are read, narrowed and split."""

    def parse(document: dict[str, Any], shard: int | None) -> LiveState | None:
        if not isinstance(document.get("ids"), list):
            return None
        pending, run_id = document.get("pending"), document.get("run_id")
        return LiveState(
            client_id,
            run_id if isinstance(run_id, str) else None,
            {str(rid) for rid in document["ids"]},
            {str(k): str(v) for k, v in pending.items()} if isinstance(pending, dict) else {},
            shard,
        )

    def narrow(state: LiveState, shard: int, shards: int) -> LiveState:
        return LiveState(
            client_id,
            state.run_id,
            {rid for rid in state.ids if shard_of(rid, shards) == shard},
            {rid: why for rid, why in state.pending.items() if shard_of(rid, shards) == shard},
            shard,
        )

    def split(state: LiveState, shards: int) -> dict[int, LiveState]:
        parts: dict[int, LiveState] = {}
        for rid in state.ids:
            shard = shard_of(rid, shards)
            parts.setdefault(shard, LiveState(client_id, state.run_id, shard=shard)).ids.add(rid)
        for rid, why in state.pending.items():
            shard = shard_of(rid, shards)
            parts.setdefault(shard, LiveState(client_id, state.run_id, shard=shard))
            parts[shard].pending[rid] = why
        return parts

    return StateKind(
        "live-ids state",
        parse,
        lambda shard: LiveState(client_id, shard=shard),
        narrow,
        split,
    )
