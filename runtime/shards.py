"""Sharding by key: a client's state too large for one object, and a run's lines set aside by shard.

The stock store (runtime/stock_store.py) and the live ids (runtime/scope.py)
keep a client's state as several objects, a key's object chosen by a hash of
the key, so a step can read, change and write them one at a time. A run's
own data for them (stock rows, the ids it handled) comes in catalog order,
which touches every shard; `LineSpool` sets it aside by shard on disk first,
so each shard is then taken once, with only its own lines in memory.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from typing import IO

SPOOL_MEMORY_BYTES = 16 * 2**20
"""What a spool's shards keep in memory together before each goes to a temporary file."""
MIN_SHARD_MEMORY_BYTES = 4096


def shard_of(key: str, shards: int) -> int:
    """The shard a key lives in (stable across processes: not Python's `hash`)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % shards


class LineSpool:
    """Encoded lines set aside by shard (in memory up to a size, then in a temporary file)."""

    def __init__(self, shards: int) -> None:
        self.memory_bytes = max(MIN_SHARD_MEMORY_BYTES, SPOOL_MEMORY_BYTES // shards)
        """What one shard keeps in memory before it goes to a file (SPOOL_MEMORY_BYTES shared)."""
        self._files: dict[int, IO[bytes]] = {}

    def add(self, shard: int, line: bytes) -> None:
        """Set one line (ending in a newline) aside under its shard."""
        spool = self._files.get(shard)
        if spool is None:
            spool = self._files[shard] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
                max_size=self.memory_bytes
            )
        spool.write(line)

    def shards(self) -> list[int]:
        """The shards that have lines, in order."""
        return sorted(self._files)

    def lines(self, shard: int) -> Iterator[bytes]:
        """One shard's lines in the order they came (none for a shard without any)."""
        spool = self._files.get(shard)
        if spool is None:
            return
        spool.seek(0)
        yield from spool
        spool.seek(0, 2)  # later lines are added at the end

    def close(self) -> None:
        """Drop the spools."""
        for spool in self._files.values():
            spool.close()
        self._files = {}

    def __enter__(self) -> LineSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
