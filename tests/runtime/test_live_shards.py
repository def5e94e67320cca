"""A client's live ids kept shard by shard, and a run's ids spooled by shard for the end of a run.

The end of a run (the finish step of a run mapped page by page) compares the
run's ids with the client's live ids one shard at a time, so its memory does
not grow with the catalog (docs/benchmarks.md, Scale).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from runtime import scope, shards
from runtime.adapters.base import ProductAdapter
from runtime.handlers.leaving import leave_scope
from runtime.run_ids import RunIdSets, SpooledRunIds
from runtime.runstore import RunStore
from runtime.scope import ABSENT, LIVE_BASE_SHARDS, SKIPPED, live_key, live_prefix, read_live

CLIENT = "cliente-a"
OLD_RUN, RUN = "20250115T100000Z-aaaaaa", "20250116T100000Z-bbbbbb"
REPORT_ONLY = cast(ProductAdapter, None)  # the `report` choice never calls the product


def _ids(prefix: str, count: int) -> set[str]:
    return {f"{prefix}{n}" for n in range(count)}


def _put_keys(store: RunStore) -> list[str]:
    keys: list[str] = []
    store.s3.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: keys.append(params["Key"])
    )
    return keys


def _loaded_before(aws: Any, count: int) -> tuple[RunStore, set[str]]:
    """A store where an older run loaded P0..P{count-1}, and those ids."""
    store = RunStore(aws.bucket, s3=aws.s3)
    live = _ids("P", count)
    _leave(store, RunIdSets(live, set(), live), run_id=OLD_RUN)
    return store, live


def _leave(store: RunStore, ids: Any, *, full_sync: bool = True, run_id: str = RUN) -> Any:
    return leave_scope(
        store,
        REPORT_ONLY,
        client_id=CLIENT,
        run_id=run_id,
        choice="report",
        full_sync=full_sync,
        ids=ids,
    )


def test_spooled_ids_give_each_shard_what_the_sets_in_memory_give() -> None:
    parts = [
        (_ids(f"H{page}-", 30), _ids(f"H{page}-", 20), _ids(f"S{page}-", 3)) for page in range(5)
    ]
    handled = set().union(*(part[0] for part in parts))
    loaded = set().union(*(part[1] for part in parts))
    skipped = set().union(*(part[2] for part in parts))
    in_memory = RunIdSets(handled, skipped, loaded)
    with SpooledRunIds() as spooled:
        for part in parts:
            spooled.add_part(sorted(part[0]), sorted(part[1]), sorted(part[2]))
        for shards in (
            1,
            LIVE_BASE_SHARDS,
            128,
        ):  # any layout: fewer shards than spool files, or more
            for shard in range(shards):
                assert spooled.of(shard, shards) == in_memory.of(shard, shards)
            assert sum(len(in_memory.of(shard, shards).loaded) for shard in range(shards)) == 100
        assert spooled.of(0, 1).seen == handled | skipped == in_memory.of(0, 1).seen


def test_an_older_single_object_moves_into_shards_and_is_removed(aws: Any) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    live = _ids("P", 40)
    store.put_json(
        live_key(CLIENT),
        {"client_id": CLIENT, "run_id": OLD_RUN, "ids": sorted(live), "pending": {"Q1": ABSENT}},
    )
    seen = _ids("P", 30) | _ids("N", 5)
    left = _leave(store, RunIdSets(seen, {"P30"}, _ids("N", 5)))

    lines = {line["id"]: line["why"] for line in store.iter_lines(left.key)}
    assert lines == {"P30": SKIPPED, "Q1": ABSENT, **{f"P{n}": ABSENT for n in range(31, 40)}}
    assert store.get_json_if_present(live_key(CLIENT)) is None
    # 40 ids: one shard, and no layout.json (a new client's layout needs none)
    assert list(store.list_keys(live_prefix(CLIENT))) == [
        live_prefix(CLIENT) + "n1/shard-0000.json"
    ]
    after = read_live(store, CLIENT)
    assert after.ids == seen and after.pending == {} and after.run_id == RUN


def test_a_broken_full_extract_is_judged_over_every_shard_not_shard_by_shard(aws: Any) -> None:
    store, live = _loaded_before(aws, 100)
    assert read_live(store, CLIENT).ids == live

    held = _leave(store, RunIdSets(_ids("P", 40), set(), set()))  # 60 of 100 absent: broken
    assert (held.held_back, held.count) == (60, 0)
    assert read_live(store, CLIENT).ids == live

    trimmed = _leave(store, RunIdSets(_ids("P", 55), set(), set()))  # 45 absent: they leave
    assert (trimmed.held_back, trimmed.count) == (0, 45)
    assert read_live(store, CLIENT).ids == _ids("P", 55)


def test_a_run_that_changes_no_live_id_writes_no_shard(aws: Any) -> None:
    store, live = _loaded_before(aws, 50)
    puts = _put_keys(store)
    _leave(store, RunIdSets(_ids("P", 10), set(), _ids("P", 10)), full_sync=False)
    assert [key for key in puts if key.startswith(live_prefix(CLIENT))] == []
    _leave(store, RunIdSets({"P1", "N1"}, set(), {"P1", "N1"}), full_sync=False)
    assert len([key for key in puts if key.startswith(live_prefix(CLIENT))]) == 1
    assert read_live(store, CLIENT).ids == live | {"N1"}


def test_a_full_sync_that_outgrows_the_shards_moves_the_ids_into_more(
    aws: Any, monkeypatch: Any
) -> None:
    store, _ = _loaded_before(aws, 100)
    monkeypatch.setattr(scope, "LIVE_PER_SHARD", 2)  # 100 ids now need 64 shards

    seen = _ids("P", 70) | _ids("N", 10)
    left = _leave(store, RunIdSets(seen, set(), _ids("N", 10)))

    assert left.count == 30 and {line["why"] for line in store.iter_lines(left.key)} == {ABSENT}
    assert store.get_json(live_prefix(CLIENT) + "layout.json") == {"shards": 64}
    keys = list(store.list_keys(live_prefix(CLIENT)))
    assert keys and all("/n64/" in key or key.endswith("layout.json") for key in keys)
    assert read_live(store, CLIENT).ids == seen

    _leave(store, RunIdSets({"N1", "X1"}, set(), {"X1"}), full_sync=False)  # the new layout
    assert read_live(store, CLIENT).ids == seen | {"X1"}


def test_shards_a_run_left_as_they_were_are_written_again_before_they_could_expire(
    aws: Any, monkeypatch: Any
) -> None:
    store, live = _loaded_before(aws, 50)
    puts = _put_keys(store)
    monkeypatch.setattr(shards, "stale_before", lambda: datetime.now(UTC) + timedelta(days=1))

    _leave(store, RunIdSets(_ids("P", 10), set(), _ids("P", 10)), full_sync=False)

    assert [key for key in puts if key.startswith(live_prefix(CLIENT))] == [
        live_prefix(CLIENT) + "n1/shard-0000.json"
    ]
    assert read_live(store, CLIENT).ids == live
