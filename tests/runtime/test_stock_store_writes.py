"""Keeping the records a run sent: the run's lines read once, each shard written from its own.

The store (runtime/stock_store.py) is written after every load; reading the
run's pages again for it is what costs, so they are read once, whatever the
catalog, and set aside by shard on disk; each shard is then written from its
own entries alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from runtime import shards as shards_module
from runtime.config import ClientConfig
from runtime.runstore import RunStore
from runtime.stock_store import (
    MAX_SHARDS,
    SHARD_RECORDS,
    ShardReader,
    layout_key,
    read_layout,
    remember_sent,
    shard_key,
    shard_of,
    shards_for,
    stored_shards,
)


def config(client_id: str) -> ClientConfig:
    return ClientConfig(
        client_id=client_id,
        client_name="Empresa",
        product_type="kong",
        siesa_api_url="https://a.siesa.example/api/v1",
        product_api_url="https://a.kong.example/api/v1",
    )


def line(key: str, record_id: str, warehouse: str | None = None, **product: Any) -> dict[str, Any]:
    """A stock-sync style line: it names its ERP key and warehouse itself."""
    body = {"product_id": record_id, "name": f"Producto {record_id}", **product}
    return {"id": record_id, "source_key": key, "warehouse": warehouse, "product": body}


def run_lines() -> list[dict[str, Any]]:
    lines = [line(f"K{n:04d}", f"K{n:04d}", quantity=n) for n in range(300)]
    lines += [line("K0007", "K0007", quantity=70)]  # sent twice: the later copy is kept
    lines += [line("M1", "M1-BOD01", "BOD-01"), line("M1", "M1-BOD02", "BOD-02")]  # one-to-many
    lines += [line("D1", "D1", precio=Decimal("19990.00"))]  # a number keeps its digits
    return lines


class Lines:
    """The run's lines, counting how often they were read (each read is the run's pages again)."""

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        self.lines, self.reads = lines, 0

    def __call__(self) -> list[dict[str, Any]]:
        self.reads += 1
        return self.lines


def whole_store(store: RunStore, client_id: str) -> dict[str, Any]:
    keys = [f"K{n:04d}" for n in range(300)] + ["M1", "D1", "GONE", "NEW"]
    return {key: entries for key, entries in ShardReader(store, client_id).entries(keys) if entries}


def test_the_run_is_read_once_and_each_key_keeps_its_latest_entries(aws: Any) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    lines = run_lines()
    sent = {str(item["id"]) for item in lines}
    once = Lines(lines)

    kept = remember_sent(store, config("cliente-a"), once, sent, replace=True)

    assert once.reads == 1
    assert kept == len(lines)
    found = whole_store(store, "cliente-a")
    assert found["K0007"] == [
        {
            "id": "K0007",
            "warehouse": None,
            "product": line("K0007", "K0007", quantity=70)["product"],
        }
    ]
    assert [(e["id"], e["warehouse"]) for e in found["M1"]] == [
        ("M1-BOD01", "BOD-01"),
        ("M1-BOD02", "BOD-02"),
    ]
    assert found["D1"][0]["product"]["precio"] == Decimal("19990.00")
    assert str(found["D1"][0]["product"]["precio"]) == "19990.00"
    assert len(found) == 302


def test_a_shard_holds_exactly_the_keys_that_hash_to_it(aws: Any) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    lines = run_lines()
    remember_sent(store, config("cliente-a"), Lines(lines), None, replace=True, shard_records=10)
    shards = read_layout(store, "cliente-a")
    assert shards == 32  # 304 entries, about 10 a shard
    stored = stored_shards(store, "cliente-a")
    assert len(stored) > shards // 2
    for shard in stored:
        keys = set(store.get_json(shard_key("cliente-a", shard, shards)))
        assert keys and {shard_of(key, shards) for key in keys} == {shard}


def test_an_incremental_run_merges_and_a_full_one_replaces(aws: Any) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    client = config("cliente-a")
    kept = line("K0004", "K0004", quantity=7)
    first = [line("K0001", "K0001", quantity=1), line("GONE", "GONE", quantity=5), kept]
    remember_sent(store, client, Lines(first), None, replace=True, shard_records=1)
    assert read_layout(store, "cliente-a") == 4  # 3 records, 1 a shard: K0004 0, K0001 1, GONE 3

    later = [line("K0001", "K0001", quantity=2), line("K0002", "K0002", quantity=3)]
    unsent = [line("K0003", "K0003", quantity=4)]  # mapped, but the product refused it
    assert remember_sent(store, client, Lines(later + unsent), {"K0001", "K0002"}, replace=False)
    merged = whole_store(store, "cliente-a")
    assert {key: e[0]["product"]["quantity"] for key, e in merged.items()} == {
        "K0001": 2,
        "K0002": 3,
        "GONE": 5,
        "K0004": 7,
    }

    before = stored_shards(store, "cliente-a")
    assert before == {0, 1, 2, 3}
    remember_sent(store, client, Lines([*later, kept]), None, replace=True, shard_records=1)
    assert {
        key: e[0]["product"]["quantity"] for key, e in whole_store(store, "cliente-a").items()
    } == {"K0001": 2, "K0002": 3, "K0004": 7}, "a full sync keeps only what it sent"
    assert read_layout(store, "cliente-a") == 4
    assert stored_shards(store, "cliente-a") == before, (
        "emptied shards are written empty, not deleted"
    )
    assert store.get_json(shard_key("cliente-a", 3, 4)) == {}  # GONE's


def test_a_full_sync_picks_as_many_shards_as_its_records_need() -> None:
    assert shards_for(0) == shards_for(SHARD_RECORDS) == 1  # a small catalog: one object
    assert shards_for(SHARD_RECORDS + 1) == 2
    assert shards_for(64 * SHARD_RECORDS + 1) == 128
    assert shards_for(1_000_000) == 512  # about 1,950 records a shard
    assert shards_for(50_000_000) == MAX_SHARDS


def test_a_store_that_outgrows_its_shards_moves_to_a_new_layout_and_back(aws: Any) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    client = config("cliente-a")
    lines = run_lines()
    remember_sent(store, client, Lines(lines), None, replace=True)
    before = whole_store(store, "cliente-a")
    assert read_layout(store, "cliente-a") == 1 and stored_shards(store, "cliente-a") == {0}
    assert store.get_json_if_present(layout_key("cliente-a")) is None  # the least needs none

    remember_sent(store, client, Lines(lines), None, replace=True, shard_records=3)
    assert read_layout(store, "cliente-a") == 128  # 304 entries, 3 a shard at most
    assert stored_shards(store, "cliente-a", 1) == set(), "the old layout's shards are removed"
    assert whole_store(store, "cliente-a") == before

    later = [line("K0001", "K0001", quantity=2), line("NEW", "NEW", quantity=9)]
    remember_sent(store, client, Lines(later), {"K0001", "NEW"}, replace=False)
    merged = whole_store(store, "cliente-a")
    assert merged["K0001"][0]["product"]["quantity"] == 2 and "NEW" in merged
    assert len(merged) == len(before) + 1

    remember_sent(store, client, Lines(later), None, replace=True)
    assert read_layout(store, "cliente-a") == 1
    assert stored_shards(store, "cliente-a", 128) == set()
    assert set(whole_store(store, "cliente-a")) == {"K0001", "NEW"}


def test_an_incremental_run_writes_again_the_shards_it_left_once_they_are_old(
    aws: Any, monkeypatch: Any
) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    client = config("cliente-a")
    remember_sent(store, client, Lines(run_lines()), None, replace=True, shard_records=10)
    shards = read_layout(store, "cliente-a")
    before = whole_store(store, "cliente-a")
    puts: list[str] = []
    store.s3.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: puts.append(params["Key"])
    )

    later = [line("K0001", "K0001", quantity=2)]
    remember_sent(store, client, Lines(later), {"K0001"}, replace=False)
    assert puts == [shard_key("cliente-a", shard_of("K0001", shards), shards)]

    puts.clear()
    monkeypatch.setattr(
        shards_module, "stale_before", lambda: datetime.now(UTC) + timedelta(days=1)
    )
    remember_sent(store, client, Lines(later), {"K0001"}, replace=False)
    present = stored_shards(store, "cliente-a")
    assert sorted(puts) == sorted(
        [shard_key("cliente-a", shard, shards) for shard in present] + [layout_key("cliente-a")]
    )
    assert whole_store(store, "cliente-a") == {
        **before,
        "K0001": whole_store(store, "cliente-a")["K0001"],
    }

    puts.clear()  # a run that sent nothing still writes again what is old
    assert remember_sent(store, client, Lines(later), set(), replace=False) == 0
    assert sorted(puts) == sorted(
        [shard_key("cliente-a", shard, shards) for shard in present] + [layout_key("cliente-a")]
    )
