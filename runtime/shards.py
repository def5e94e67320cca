"""Sharding by key: a client's state too large for one object, and a run's lines set aside by shard.

The stock store (runtime/stock_store.py) and the live ids (runtime/scope.py)
keep a client's state as several objects, a key's object chosen by a hash of
the key, so a step can read, change and write them one at a time. Their
number grows with the state (`Layout`: a full sync picks it), so what a step
holds of one shard does not grow with the catalog.

A run's own data for them (stock rows, the ids it handled) comes in catalog
order, which touches every shard; `LineSpool` sets it aside by shard on disk
first, so each shard is then taken once, with only its own lines in memory.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any, Protocol

from runtime import settings

SPOOL_FILES = 64
"""A spool's files (each line goes to the file of its key's hash modulo this): few open files
whatever the number of shards it is read by (a Lambda function may hold 1,024)."""
SPOOL_MEMORY_BYTES = 2 * 2**20
"""What a spool's files keep in memory together before each goes to a temporary file (small:
the operating system buffers the files anyway, and a larger figure would only make a large run
hold more than a small one)."""
_HASH_WIDTH = 8  # a spooled line starts with its key's hash, in hex


def key_hash(key: str) -> int:
    """A key's 32-bit hash (stable across processes: not Python's `hash`)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big")


def shard_of(key: str, shards: int) -> int:
    """The shard a key lives in."""
    return key_hash(key) % shards


class LineSpool:
    """Lines set aside by their key's hash, read back shard by shard for any power-of-two count."""

    def __init__(self) -> None:
        self._files: dict[int, IO[bytes]] = {}
        self._hashes: set[int] | None = set()
        self._lock = threading.Lock()
        self.count = 0

    def add(self, key: str, line: bytes) -> None:
        """Set one line (ending in a newline) aside under its key."""
        hashed = key_hash(key)
        file = self._files.get(hashed % SPOOL_FILES)
        if file is None:
            file = self._files[hashed % SPOOL_FILES] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
                max_size=SPOOL_MEMORY_BYTES // SPOOL_FILES
            )
        file.write(b"%08x" % hashed + line)
        if self._hashes is not None:  # which shards have lines, kept while that is cheap
            self._hashes.add(hashed)
            if len(self._hashes) > 4096:
                self._hashes = None
        self.count += 1

    def touched(self, shards: int) -> list[int]:
        """The shards (of `shards`) that have lines, in order."""
        if self._hashes is not None:
            return sorted({hashed % shards for hashed in self._hashes})
        if shards <= SPOOL_FILES:
            return sorted({number % shards for number in self._files})
        with self._lock:
            return sorted(
                {
                    int(line[:_HASH_WIDTH], 16) % shards
                    for file in self._files.values()
                    for line in self._read(file)
                }
            )

    def lines(self, shard: int, shards: int) -> Iterator[bytes]:
        """The lines of one shard (of `shards`, a power of two) in the order they came.

        Threads may read shards at once (the stock store writes several), and
        beyond SPOOL_FILES shards two of them share a file, whose position is
        one: each file's lines of this shard are taken under the spool's lock, then
        given (one shard's lines, which its reader holds anyway).
        """
        numbers = (
            range(shard, SPOOL_FILES, shards) if shards <= SPOOL_FILES else [shard % SPOOL_FILES]
        )
        for number in numbers:
            with self._lock:
                file = self._files.get(number)
                if file is None:
                    continue
                taken = [
                    line[_HASH_WIDTH:]
                    for line in self._read(file)
                    if shards <= SPOOL_FILES or int(line[:_HASH_WIDTH], 16) % shards == shard
                ]
            yield from taken

    @staticmethod
    def _read(file: IO[bytes]) -> Iterator[bytes]:
        file.seek(0)
        yield from file
        file.seek(0, 2)  # later lines are added at the end

    def close(self) -> None:
        """Drop the spool."""
        for file in self._files.values():
            file.close()
        self._files = {}

    def __enter__(self) -> LineSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ObjectStore(Protocol):
    """What a layout needs of the run store (runtime/runstore.py `RunStore`)."""

    def list_dated(self, prefix: str) -> Iterator[tuple[str, datetime]]: ...
    def get_json(self, key: str) -> Any: ...
    def put_bytes(self, key: str, body: bytes, content_type: str = ...) -> None: ...
    def delete(self, key: str) -> None: ...
    def rewrite(self, key: str) -> None: ...


def stale_before() -> datetime:
    """State last written before this is written again (half the run data's retention ago).

    The bucket expires everything under `runs/` by age, and a run writes only
    the shards it changes: a shard, or `layout.json`, that no run changed for
    the whole retention would otherwise be deleted under a client that syncs.
    """
    return datetime.now(UTC) - timedelta(days=settings.run_data_retention_days() / 2)


@dataclass(frozen=True)
class Survey:
    """What one listing of a sharded state found: the layout in use, and each layout's shards."""

    shards: int
    stored: dict[int, set[int]]
    written: dict[str, datetime] = field(default_factory=dict)
    """When each object the listing found was last written."""

    def present(self, shards: int | None = None) -> set[int]:
        """The shards a layout (the one in use by default) holds now."""
        return self.stored.get(self.shards if shards is None else shards, set())


@dataclass(frozen=True)
class Layout:
    """How a sharded state is laid out: `base` shards at `prefix`, any other number under `prefix/n{N}/`.

    A full sync picks the number (`shards_for`: about `per_shard` keys a
    shard, a power of two from `least` to `most`), writes the new layout's
    shards, then `layout.json`, then removes every other layout's (`settle`):
    a reader finds one whole layout whenever it reads. `base` is the layout
    of a state stored before `layout.json` existed; a new client starts at
    `least`, so a small catalog costs one object, not `base` of them.
    """

    prefix: str
    base: int
    per_shard: int
    most: int
    least: int = 1

    def shards_for(self, keys: int) -> int:
        """How many shards a state of `keys` keys is written in."""
        shards = self.least
        while keys > shards * self.per_shard and shards < self.most:
            shards *= 2
        return shards

    def folder(self, shards: int) -> str:
        """Where a layout's shards are."""
        return self.prefix if shards == self.base else f"{self.prefix}n{shards}/"

    def key(self, shard: int, shards: int) -> str:
        """`shard-NNN.json` at the prefix, `n{N}/shard-NNNN.json` for any other layout."""
        width = 3 if shards == self.base else 4
        return f"{self.folder(shards)}shard-{shard:0{width}d}.json"

    @property
    def layout_key(self) -> str:
        """`layout.json`: the number of shards in use."""
        return f"{self.prefix}layout.json"

    def survey(self, store: ObjectStore, refuse: Callable[[str], Exception]) -> Survey:
        """One listing (S3 bills a LIST as ten GETs), and `layout.json` when there is one.

        Without `layout.json` the layout is `base` when shards are stored at
        the prefix (a state older than `layout.json`), else `least` (a new
        client's, or one whose first layout needed no more).
        """
        stored: dict[int, set[int]] = {}
        written: dict[str, datetime] = {}
        has_layout = False
        for key, when in store.list_dated(self.prefix):
            written[key] = when
            name = key[len(self.prefix) :]
            has_layout = has_layout or name == "layout.json"
            folder, _, file = name.rpartition("/")
            shards = self.base if not folder else _folder_layout(folder)
            number = file[6:-5]
            if shards and file.startswith("shard-") and file.endswith(".json") and number.isdigit():
                stored.setdefault(shards, set()).add(int(number))
        if not has_layout:
            return Survey(self.base if self.base in stored else self.least, stored, written)
        document = store.get_json(self.layout_key)
        shards = document.get("shards") if isinstance(document, dict) else None
        if not isinstance(shards, int) or shards != self.shards_for(shards * self.per_shard):
            raise refuse(f"{self.layout_key} does not name a number of shards")
        return Survey(shards, stored, written)

    def settle(self, store: ObjectStore, survey: Survey, shards: int) -> list[str]:
        """After a layout's shards are written: name it, and return every other layout's keys.

        The caller removes those (after `layout.json`, so a reader always
        finds one whole layout). A layout left behind by a step that stopped
        between the two is removed by the next.
        """
        if shards != survey.shards:
            store.put_bytes(self.layout_key, b'{"shards":%d}' % shards, "application/json")
        return [
            self.key(shard, layout)
            for layout, numbers in sorted(survey.stored.items())
            if layout != shards
            for shard in sorted(numbers)
        ]

    def refresh(
        self,
        store: ObjectStore,
        survey: Survey,
        written: Collection[str],
        before: datetime | None = None,
    ) -> list[str]:
        """Write again what the layout in use holds and a run left as it was, once it is old.

        `written`: the keys this run wrote. Objects of the layout in use (its
        shards, `layout.json`) last written before `before` (`stale_before`)
        are written again as they are; returns their keys. Called after a
        run that kept the layout it found.
        """
        cutoff = stale_before() if before is None else before
        keys = [self.key(shard, survey.shards) for shard in sorted(survey.present())]
        keys.append(self.layout_key)
        stale = [
            key
            for key in keys
            if key not in written and key in survey.written and survey.written[key] < cutoff
        ]
        for key in stale:
            store.rewrite(key)
        return stale


def _folder_layout(folder: str) -> int | None:
    """`n512` -> 512; None for a folder that is no layout's."""
    return int(folder[1:]) if folder[:1] == "n" and folder[1:].isdigit() else None
