"""A stock run reads the client's store with one listing, whatever the number of shards.

The stores here are in the layout written before `layout.json` (BASE_SHARDS at
the prefix), which a reader still finds.

S3 bills a LIST as ten GETs, and every stock run (every 15 minutes) reads the
shards of the records last sent: one listing says which shards exist, then
only those are read (docs/cost.md).
"""

from __future__ import annotations

from typing import Any

from runtime.runstore import RunStore
from runtime.stock_store import BASE_SHARDS, ShardReader, ShardSpool, shard_key, shard_of


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
        store.put_json(
            shard_key("cliente-a", shard_of(key, BASE_SHARDS), BASE_SHARDS), {key: entry}
        )
    touched = {shard_of(key, BASE_SHARDS) for key in keys}
    assert len(touched) > BASE_SHARDS // 2  # the keys spread over most shards

    calls = _counting(store)
    found = dict(ShardReader(store, "cliente-a").entries(keys))

    assert {key for key, entries in found.items() if entries} == set(held)
    assert found[held[0]][0]["product"] == {"product_id": held[0]}
    assert calls.get("ListObjectsV2") == 1
    assert calls.get("GetObject") == len({shard_of(key, BASE_SHARDS) for key in held})


def test_a_spool_gives_every_item_back_shard_by_shard_in_the_order_it_came() -> None:
    items = [
        (f"ITEM-{n:04d}", [(f"page#{n}", {"f_codigo": f"ITEM-{n:04d}", "qty": n})])
        for n in range(300)
    ]
    with ShardSpool(BASE_SHARDS) as spool:
        for key, rows in items:
            spool.add(key, rows)
        seen: list[tuple[int, str, list[tuple[str, Any]]]] = [
            (shard, key, rows) for shard, grouped in spool.by_shard() for key, rows in grouped
        ]
    shards = [shard for shard, _, _ in seen]
    assert shards == sorted(shards)  # each shard once, in order
    assert sorted((key, rows) for _, key, rows in seen) == sorted(items)  # nothing lost
    for shard in set(shards):
        in_shard = [key for s, key, _ in seen if s == shard]
        assert in_shard == [key for key, _ in items if shard_of(key, BASE_SHARDS) == shard]


def test_a_stock_sync_reads_each_shard_once_however_little_the_reader_may_hold(aws: Any) -> None:
    """Three stock pages whose items hash to every shard: one read per shard, not per page."""
    store = RunStore(aws.bucket, s3=aws.s3)
    keys = [f"ITEM-{n:04d}" for n in range(300)]
    by_shard: dict[int, dict[str, Any]] = {}
    for key in keys:
        entry = [{"id": key, "product": {"product_id": key}, "warehouse": None}]
        by_shard.setdefault(shard_of(key, BASE_SHARDS), {})[key] = entry
    for shard, held in by_shard.items():
        store.put_json(shard_key("cliente-a", shard, BASE_SHARDS), held)
    calls = _counting(store)
    reader = ShardReader(store, "cliente-a", max_records=1)  # keeps one shard at most
    with ShardSpool(BASE_SHARDS) as spool:
        for page in (keys[0:100], keys[100:200], keys[200:300]):
            for key in page:
                spool.add(key, [("p#1", {"f_codigo": key})])
        found = {
            key: reader.shard(shard).get(key, [])
            for shard, items in spool.by_shard()
            for key, _ in items
        }
    assert all(found[key][0]["id"] == key for key in keys)
    assert calls.get("GetObject") == len(by_shard) == reader.reads
    assert calls.get("ListObjectsV2") == 1
