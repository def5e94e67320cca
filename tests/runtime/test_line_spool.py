"""A run's lines set aside by shard on disk, read back shard by shard (runtime/shards.py `LineSpool`).

Beyond SPOOL_FILES shards, two shards share one spool file; the stock store
reads several shards at once from its writer threads, so two readers of one
file must each get exactly their shard's lines.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from runtime.shards import SPOOL_FILES, LineSpool, shard_of

SHARDS = SPOOL_FILES * 4


def _filled(count: int) -> tuple[LineSpool, dict[int, list[bytes]]]:
    """A spool of `count` lines (past its memory, so on disk) and each shard's lines in order."""
    spool = LineSpool()
    expected: dict[int, list[bytes]] = {}
    for number in range(count):
        key = f"record-{number}"
        line = f"{key} {'x' * 200}\n".encode()
        spool.add(key, line)
        expected.setdefault(shard_of(key, SHARDS), []).append(line)
    return spool, expected


def test_each_shard_reads_back_its_own_lines_in_order() -> None:
    spool, expected = _filled(5_000)
    with spool:
        assert spool.touched(SHARDS) == sorted(expected)
        for shard, lines in expected.items():
            assert list(spool.lines(shard, SHARDS)) == lines
        assert sum(len(list(spool.lines(shard, 4))) for shard in range(4)) == 5_000


def test_two_readers_of_shards_sharing_a_file_each_get_their_own_lines() -> None:
    spool, expected = _filled(20_000)
    first, second = 1, 1 + SPOOL_FILES  # one spool file holds both
    with spool:
        readers = {first: spool.lines(first, SHARDS), second: spool.lines(second, SHARDS)}
        got: dict[int, list[bytes]] = {first: [], second: []}
        while readers:  # one line of each in turn, as threads interleave
            for shard, reader in list(readers.items()):
                line = next(reader, None)
                if line is None:
                    del readers[shard]
                else:
                    got[shard].append(line)
        assert got == {first: expected[first], second: expected[second]}


def test_threads_reading_every_shard_at_once_lose_and_repeat_nothing() -> None:
    spool, expected = _filled(20_000)
    with spool, ThreadPoolExecutor(max_workers=8) as pool:
        read = dict(
            zip(
                range(SHARDS),
                pool.map(lambda shard: list(spool.lines(shard, SHARDS)), range(SHARDS)),
                strict=True,
            )
        )
    assert {shard: lines for shard, lines in read.items() if lines} == expected
