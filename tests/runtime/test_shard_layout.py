"""Which layout a sharded state is in, and what a new layout leaves behind (runtime/shards.py).

A new client's state starts in the fewest shards (`least`: one object for a
small catalog, not sixteen or sixty-four), a state written before
`layout.json` existed is still read where it is (`base` shards at the
prefix), settling a layout removes every other layout's shards, also
those a step that stopped half way left behind, and what a run left as it
was is written again before the bucket's retention would expire it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runtime import settings
from runtime.errors import RunDataError
from runtime.runstore import RunStore
from runtime.shards import Layout, stale_before

PREFIX = "runs/cliente-a/state/"
LAYOUT = Layout(PREFIX, base=16, per_shard=10, most=64)


def _write(store: RunStore, shards: int, numbers: range) -> None:
    for shard in numbers:
        store.put_json(LAYOUT.key(shard, shards), {"shard": shard})


def test_a_new_state_starts_in_the_fewest_shards_and_grows_by_powers_of_two() -> None:
    assert [LAYOUT.shards_for(keys) for keys in (0, 10, 11, 40, 41, 640, 10**6)] == [
        1,
        1,
        2,
        4,
        8,
        64,
        64,
    ]
    assert LAYOUT.key(0, 1) == PREFIX + "n1/shard-0000.json"
    assert LAYOUT.key(3, 16) == PREFIX + "shard-003.json"  # the layout before layout.json


def test_the_survey_finds_the_layout_in_use(aws: Any) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    assert LAYOUT.survey(store, RunDataError).shards == 1  # nothing stored: the least

    _write(store, 16, range(16))  # a state older than layout.json
    _write(store, 4, range(4))  # a new layout written, but not yet named
    found = LAYOUT.survey(store, RunDataError)
    assert found.shards == 16 and found.present() == set(range(16))
    assert found.present(4) == set(range(4))

    store.put_json(LAYOUT.layout_key, {"shards": 4})
    assert LAYOUT.survey(store, RunDataError).shards == 4

    store.put_json(LAYOUT.layout_key, {"shards": 3})
    with pytest.raises(RunDataError, match="does not name a number of shards"):
        LAYOUT.survey(store, RunDataError)


def test_settling_names_the_new_layout_and_returns_every_other_layouts_shards(aws: Any) -> None:
    store = RunStore(aws.bucket, s3=aws.s3)
    _write(store, 16, range(16))
    _write(store, 8, range(2))  # left behind by a step that stopped before layout.json
    _write(store, 2, range(2))
    found = LAYOUT.survey(store, RunDataError)

    old = LAYOUT.settle(store, found, 2)

    assert store.get_json(LAYOUT.layout_key) == {"shards": 2}
    assert old == [LAYOUT.key(n, 8) for n in range(2)] + [LAYOUT.key(n, 16) for n in range(16)]
    for key in old:
        store.delete(key)
    again = LAYOUT.survey(store, RunDataError)
    assert again.shards == 2 and again.stored == {2: {0, 1}}
    assert LAYOUT.settle(store, again, 2) == []  # the same layout: nothing to name or remove


def test_what_a_run_left_as_it_was_is_written_again_once_half_the_retention_old(
    aws: Any,
) -> None:
    """Run data expires by age: a shard no run changes must not expire under a client that syncs."""
    store = RunStore(aws.bucket, s3=aws.s3)
    _write(store, 4, range(3))
    store.put_json(LAYOUT.layout_key, {"shards": 4})
    found = LAYOUT.survey(store, RunDataError)
    assert set(found.written) == {LAYOUT.key(n, 4) for n in range(3)} | {LAYOUT.layout_key}
    changed = {LAYOUT.key(1, 4)}

    assert LAYOUT.refresh(store, found, changed) == []  # all fresh: nothing written again
    later = max(found.written.values()) + timedelta(days=1)
    again = LAYOUT.refresh(store, found, changed, before=later)

    assert again == [LAYOUT.key(0, 4), LAYOUT.key(2, 4), LAYOUT.layout_key]
    after = LAYOUT.survey(store, RunDataError)
    assert all(after.written[key] >= found.written[key] for key in again)
    assert store.get_json(LAYOUT.key(2, 4)) == {"shard": 2}  # written as it was
    assert store.get_json(LAYOUT.layout_key) == {"shards": 4}


def test_the_cutoff_is_half_the_run_data_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.RUN_DATA_RETENTION_DAYS_ENV, "10")
    assert abs(datetime.now(UTC) - timedelta(days=5) - stale_before()) < timedelta(seconds=5)
