"""Records leaving a client's scope: which records the product holds live, and which left.

The platform keeps, per client, the ids it loaded into the product and that
are still live, in shards under `runs/{client_id}/live-ids/` chosen by a hash
of the id (written by the loader beside the retry state, with the same
newer-run guard; runtime/shards.py `Layout`: 16 shards, and a full sync picks
more, about LIVE_PER_SHARD ids each, when the catalog grows), so the end of a
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

from runtime.client_state import store_unless_newer
from runtime.config import validate_client_id
from runtime.errors import RunDataError
from runtime.runstore import RunStore, part_prefix, run_prefix
from runtime.shards import Layout, shard_of

LIVE_NAME = "live-ids.json"
"""The one object an older loader kept every live id in."""
LIVE_SHARDS = 16
"""The fewest shards of a client's live ids."""
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
    return Layout(live_prefix(client_id), LIVE_SHARDS, LIVE_PER_SHARD, LIVE_MOST_SHARDS)


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

    def to_json(self) -> dict[str, object]:
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


class LiveShards:
    """A client's live ids as stored, read and written one shard at a time.

    The shards are listed once. A full sync (`full_sync_ids`: about how many
    ids it saw) that needs more shards than there are writes a new layout:
    each new shard is read from the old shard its ids were in (`order` takes
    the new shards so each old shard is read once), and `settle` names the
    new layout and removes the old. The number never shrinks (a full extract
    that lacks most ids is taken for a broken one, and keeps them). A
    client with no shards yet but an older loader's single object has that
    object split into shards here (read whole, once); `settle` removes it.
    """

    def __init__(
        self,
        store: RunStore,
        client_id: str,
        *,
        full_sync_ids: int | None = None,
    ) -> None:
        self.store, self.client_id = store, client_id
        self.layout = live_layout(client_id)
        self.survey = self.layout.survey(store, RunDataError)
        self.old = self.survey.shards
        grown = self.layout.shards_for(full_sync_ids or 0)  # never fewer: a broken extract is small
        self.shards = max(self.old, grown)
        self._legacy: dict[int, LiveState] | None = None
        if not self.survey.stored:
            legacy = _parsed(store, client_id, live_key(client_id), shard=None, present=False)
            if legacy is not None:
                self._legacy = _split(legacy, self.shards)
        self._last: tuple[int, LiveState] | None = None

    def order(self) -> list[int]:
        """The shards to take, grouped by the old shard each is read from."""
        return [old + step for old in range(self.old) for step in range(0, self.shards, self.old)]

    def read(self, shard: int) -> LiveState:
        """One shard's state (empty when it has none)."""
        if self._legacy is not None:
            return self._legacy.get(shard) or LiveState(self.client_id, shard=shard)
        old = self._stored(shard % self.old)
        if self.shards == self.old:
            return old
        return LiveState(
            self.client_id,
            old.run_id,
            {rid for rid in old.ids if shard_of(rid, self.shards) == shard},
            {rid: why for rid, why in old.pending.items() if shard_of(rid, self.shards) == shard},
            shard,
        )

    def _stored(self, shard: int) -> LiveState:
        """One shard of the stored layout (the last one read is kept: `order` reads it again)."""
        if self._last is not None and self._last[0] == shard:
            return self._last[1]
        state = LiveState(self.client_id, shard=shard)
        if shard in self.survey.present():  # the listing is the truth: no request for the others
            key = self.layout.key(shard, self.old)
            state = _parsed(self.store, self.client_id, key, shard, present=True) or state
        self._last = (shard, state)
        return state

    def write(self, shard: int, before: LiveState, after: LiveState) -> bool:
        """Store a shard's new state unless a newer run's is there; False when one was.

        An unchanged shard of an unchanged layout is not written again (a run
        that changed nothing of it writes nothing). `before` is the state read
        for this run: its run id is the guard's (one run of a client at a time
        holds the lease, so no other run writes between the two).
        """
        moved = self._legacy is not None or self.shards != self.old
        if not moved and (before.ids, before.pending) == (after.ids, after.pending):
            return True
        return store_unless_newer(
            self.store,
            self.layout.key(shard, self.shards),
            stored_run_id=before.run_id,
            run_id=after.run_id,
            document=after.to_json(),
        )

    def settle(self) -> None:
        """After every shard is written: name a new layout, remove the old one's shards."""
        for key in self.layout.settle(self.store, self.survey, self.shards):
            self.store.delete(key)
        if self._legacy is not None:
            self.store.delete(live_key(self.client_id))
            self._legacy = None


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


def _parsed(
    store: RunStore, client_id: str, key: str, shard: int | None, *, present: bool
) -> LiveState | None:
    """The state stored at `key` (`present`: a listing found it); None when there is none."""
    document = store.get_json(key) if present else store.get_json_if_present(key)
    if document is None:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("ids"), list):
        raise RunDataError(f"s3://{store.bucket}/{key} is not a live-ids state")
    pending = document.get("pending")
    run_id = document.get("run_id")
    return LiveState(
        client_id,
        run_id if isinstance(run_id, str) else None,
        {str(rid) for rid in document["ids"]},
        {str(k): str(v) for k, v in pending.items()} if isinstance(pending, dict) else {},
        shard,
    )


def _split(state: LiveState, shards: int) -> dict[int, LiveState]:
    """An older loader's single state, shard by shard."""
    split: dict[int, LiveState] = {}
    for rid in state.ids:
        shard = shard_of(rid, shards)
        split.setdefault(shard, LiveState(state.client_id, state.run_id, shard=shard)).ids.add(rid)
    for rid, why in state.pending.items():
        shard = shard_of(rid, shards)
        split.setdefault(shard, LiveState(state.client_id, state.run_id, shard=shard))
        split[shard].pending[rid] = why
    return split
