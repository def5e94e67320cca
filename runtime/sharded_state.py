"""A client's state kept in shards by record id, read and written one shard at a time.

The live ids (runtime/scope.py) and the retry state (runtime/carryover.py)
are both maps from record id to something, as large as the catalog or its
failures, and the end of a run changes them. Each is kept in shards
(runtime/shards.py `Layout`) so the step holds one shard at a time: it
reads a shard (`read`), works out the shard's next state, and writes it
(`write`) under the newer-run guard. A layout that must grow is written
new: each new shard is read from the old shard its ids were in (`order`
takes the new shards so each old shard is read once), and `settle` names the
new layout and removes the old. A client whose state an older loader kept
in one object has it split into shards here (read whole, once); `settle`
removes that object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from runtime.client_state import store_unless_newer
from runtime.errors import RunDataError
from runtime.runstore import RunStore
from runtime.shards import Layout


class ShardDocument(Protocol):
    """What a shard's state is to the store: the run that wrote it, and its JSON."""

    run_id: str | None

    def to_json(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=ShardDocument)


@dataclass(frozen=True)
class StateKind(Generic[S]):
    """How one kind of sharded state is read, narrowed to a shard and split."""

    name: str
    """What the state is called in an error (`live-ids state`)."""
    parse: Callable[[dict[str, Any], int | None], S | None]
    """A stored document as the shard's state; None when it is not one."""
    empty: Callable[[int], S]
    """A shard with nothing in it yet."""
    narrow: Callable[[S, int, int], S]
    """A state with only the ids of shard `n` of `shards`."""
    split: Callable[[S, int], dict[int, S]]
    """A whole state (an older loader's single object) shard by shard."""


def read_document(
    store: RunStore, key: str, kind: StateKind[S], shard: int | None, *, present: bool
) -> S | None:
    """The state stored at `key` (`present`: a listing found it); None when there is none."""
    document = store.get_json(key) if present else store.get_json_if_present(key)
    if document is None:
        return None
    state = kind.parse(document, shard) if isinstance(document, dict) else None
    if state is None:
        raise RunDataError(f"s3://{store.bucket}/{key} is not a {kind.name}")
    return state


class ShardedState(Generic[S]):
    """One client's sharded state as stored: listed once, then taken shard by shard.

    `grow_to`: about how many ids the state is to hold; the layout grows to
    fit them and never shrinks (a full extract that lacks most ids is taken
    for a broken one, and a retry state is small).
    """

    def __init__(
        self,
        store: RunStore,
        layout: Layout,
        kind: StateKind[S],
        *,
        grow_to: int = 0,
        legacy_key: str | None = None,
    ) -> None:
        self.store, self.layout, self.kind = store, layout, kind
        self.survey = layout.survey(store, RunDataError)
        self.old = self.survey.shards
        self.shards = max(self.old, layout.shards_for(grow_to))
        self._legacy_key = legacy_key
        self._legacy: dict[int, S] | None = None
        if not self.survey.stored and legacy_key is not None:
            legacy = read_document(store, legacy_key, kind, None, present=False)
            if legacy is not None:
                self._legacy = kind.split(legacy, self.shards)
        self._last: tuple[int, S] | None = None
        self._written: set[str] = set()

    def order(self) -> list[int]:
        """The shards to take, grouped by the old shard each is read from."""
        return [old + step for old in range(self.old) for step in range(0, self.shards, self.old)]

    def read(self, shard: int) -> S:
        """One shard's state (empty when it has none)."""
        if self._legacy is not None:
            return self._legacy.get(shard) or self.kind.empty(shard)
        old = self._stored(shard % self.old)
        if self.shards == self.old:
            return old
        return self.kind.narrow(old, shard, self.shards)

    def _stored(self, shard: int) -> S:
        """One shard of the stored layout (the last one read is kept: `order` reads it again)."""
        if self._last is not None and self._last[0] == shard:
            return self._last[1]
        state = self.kind.empty(shard)
        if shard in self.survey.present():  # the listing is the truth: no request for the others
            key = self.layout.key(shard, self.old)
            state = read_document(self.store, key, self.kind, shard, present=True) or state
        self._last = (shard, state)
        return state

    @property
    def moved(self) -> bool:
        """Whether every shard is written anew (a new layout, or an older single object split)."""
        return self._legacy is not None or self.shards != self.old

    def write(self, shard: int, before: S, after: S, *, changed: bool = True) -> bool:
        """Store a shard's new state unless a newer run's is there; False when one was.

        An unchanged shard (`changed` False) of an unchanged layout is not
        written again. `before` is the state read for this run: its run id is
        the guard's (one run of a client at a time holds the lease, so no
        other run writes between the two).
        """
        if not changed and not self.moved:
            return True
        key = self.layout.key(shard, self.shards)
        self._written.add(key)
        return store_unless_newer(
            self.store,
            key,
            stored_run_id=before.run_id,
            run_id=after.run_id,
            document=after.to_json(),
        )

    def settle(self) -> None:
        """After every shard is written: name a new layout, remove every other one's shards.

        A layout kept as it was has what the run left unchanged written
        again once it is old (`Layout.refresh`): run data expires by age.
        """
        for key in self.layout.settle(self.store, self.survey, self.shards):
            self.store.delete(key)
        if not self.moved:
            self.layout.refresh(self.store, self.survey, self._written)
        if self._legacy is not None and self._legacy_key is not None:
            self.store.delete(self._legacy_key)
            self._legacy = None
