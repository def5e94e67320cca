"""A stock run reads the client's store with one listing, whatever the number of shards.

S3 bills a LIST as ten GETs, and every stock run (every 15 minutes) reads the
shards of the records last sent: one listing says which shards exist, then
only those are read (docs/cost.md).
"""

from __future__ import annotations

from typing import Any

from runtime.runstore import RunStore
from runtime.stock_store import SHARDS, ShardReader, shard_key, shard_of


def _counting(store: RunStore) -> dict[str, int]:
    calls: dict[str, int] = {}

    def count(model: Any, **_: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    store.s3.meta.events.register("before-call.s3", count)
    return calls


def test_the_reader_lists_the_store_once_and_reads_only_the_shards_it_holds(aws: Any) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    keys = [f"ITEM-{n:04d}" for n in range(200)]
    held = keys[:3]
    for key in held:
        entry = [{"id": key, "product": {"product_id": key}, "warehouse": None}]
        store.put_json(shard_key("cliente-a", shard_of(key)), {key: entry})
    touched = {shard_of(key) for key in keys}
    assert len(touched) > SHARDS // 2  # the keys spread over most shards

    calls = _counting(store)
    found = dict(ShardReader(store, "cliente-a").entries(keys))

    assert {key for key, entries in found.items() if entries} == set(held)
    assert found[held[0]][0]["product"] == {"product_id": held[0]}
    assert calls.get("ListObjectsV2") == 1
    assert calls.get("GetObject") == len({shard_of(key) for key in held})
