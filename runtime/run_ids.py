"""A run's ids, shard by shard: what the end of a run compares with the client's state.

The end of a run needs the ids its records had: those it saw (handled or
skipped by the mapping), those that reached the product, and those a `skip
when` rule left out. Records leaving scope are found against the client's
live ids (runtime/scope.py), shard by shard, and the retry state
(runtime/carryover.py) drops the ids the run handled.

A run mapped page by page gathers its ids from every page's part: as many as
the catalog. Held as sets in the finish step they grew it with the catalog
(339 MB at 1,000,000 products), so `SpooledRunIds` sets them aside on disk by
their hash and gives back one shard's sets at a time, for whatever number of
shards the live ids are in. A run loaded in one invocation holds them in
memory anyway: `RunIdSets` shards those sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass, field
from typing import Protocol

from contract import jsontext
from runtime.shards import LineSpool, shard_of

_LOADED, _HANDLED, _SKIPPED = b"l", b"h", b"s"


@dataclass(frozen=True)
class ShardIds:
    """One shard's ids of a run."""

    seen: set[str] = field(default_factory=set)
    """Every id the run saw: handled (loaded or failed) and skipped."""
    loaded: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)


class RunIds(Protocol):
    """A run's ids by shard of the live ids."""

    @property
    def count(self) -> int:
        """About how many ids the run saw (what a full sync's live ids will be)."""
        ...

    def of(self, shard: int, shards: int) -> ShardIds:
        """The ids of one shard of `shards`."""
        ...


class RunIdSets:
    """A run's ids already in memory (a run loaded in one invocation), sharded when asked."""

    def __init__(self, handled: Set[str], skipped: Iterable[str], loaded: Set[str]) -> None:
        self.handled, self.skipped, self.loaded = handled, set(skipped), loaded
        self._by_shard: tuple[int, dict[int, ShardIds]] | None = None

    @property
    def count(self) -> int:
        """Ids handled or skipped."""
        return len(self.handled) + len(self.skipped - self.handled)

    def of(self, shard: int, shards: int) -> ShardIds:
        """The ids of one shard (the sets are sharded on the first call for `shards`)."""
        if self._by_shard is None or self._by_shard[0] != shards:
            by_shard = {number: ShardIds() for number in range(shards)}
            for rid in self.handled:
                by_shard[shard_of(rid, shards)].seen.add(rid)
            for rid in self.skipped:
                ids = by_shard[shard_of(rid, shards)]
                ids.seen.add(rid)
                ids.skipped.add(rid)
            for rid in self.loaded:
                by_shard[shard_of(rid, shards)].loaded.add(rid)
            self._by_shard = (shards, by_shard)
        return self._by_shard[1][shard]


class SpooledRunIds:
    """A run's ids set aside on disk by their hash as its parts are read; one shard in memory."""

    def __init__(self) -> None:
        self._spool = LineSpool()

    @property
    def count(self) -> int:
        """Ids set aside (an id both handled and skipped counts twice)."""
        return self._spool.count

    def add_part(
        self, handled: Iterable[str], loaded: Iterable[str], skipped: Iterable[str]
    ) -> None:
        """One part's ids: those it handled (loaded ones among them), loaded and skipped."""
        loaded_ids = {str(rid) for rid in loaded}
        for rid in loaded_ids:
            self._add(_LOADED, rid)
        for rid in handled:
            if str(rid) not in loaded_ids:
                self._add(_HANDLED, str(rid))
        for rid in skipped:
            self._add(_SKIPPED, str(rid))

    def _add(self, kind: bytes, rid: str) -> None:
        self._spool.add(rid, kind + jsontext.dumps(rid).encode() + b"\n")

    def of(self, shard: int, shards: int) -> ShardIds:
        """The ids of one shard, read back from the spool."""
        ids = ShardIds()
        for kind, rid in self._read(shard, shards):
            ids.seen.add(rid)
            if kind == _LOADED:
                ids.loaded.add(rid)
            elif kind == _SKIPPED:
                ids.skipped.add(rid)
        return ids

    def _read(self, shard: int, shards: int) -> Iterator[tuple[bytes, str]]:
        for line in self._spool.lines(shard, shards):
            yield line[:1], str(jsontext.loads(line[1:]))

    def close(self) -> None:
        """Drop the spool."""
        self._spool.close()

    def __enter__(self) -> SpooledRunIds:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
