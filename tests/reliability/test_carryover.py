"""The retry state's rules, on moto's S3: what is due, what a finished run keeps, who may write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from runtime import aws as aws_clients
from runtime import carryover
from runtime.carryover import (
    RetryEntry,
    RetryState,
    RunFailures,
    entry_for,
    keep_for_retry,
    next_state,
    read_state,
    state_key,
    state_prefix,
)
from runtime.run_ids import RunIdSets
from runtime.runstore import RunStore

OLD, NEW, NEWER = "20250115T100000Z-aaaaaa", "20250115T110000Z-bbbbbb", "20250115T120000Z-cccccc"


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws_clients.reset_clients()
    with mock_aws():
        s3 = aws_clients.client("s3")
        s3.create_bucket(Bucket="siesa-integration-config")
        yield RunStore("siesa-integration-config", s3=s3)
    aws_clients.reset_clients()


def line(record_id: str, retryable: bool, stage: str = "product") -> dict[str, Any]:
    return {"id": record_id, "stage": stage, "reason": "why", "retryable": retryable}


def test_transient_entries_are_always_due_rejected_ones_only_under_another_mapping() -> None:
    transient = entry_for(line("P1", True), OLD, "sha-a")
    rejected = entry_for(line("P2", False, "mapping"), OLD, "sha-a")
    assert (transient.kind, rejected.kind) == ("transient", "rejected")
    state = RetryState("cliente-a", OLD, {"P1": transient, "P2": rejected})
    assert set(state.due("sha-a")) == {"P1"}
    assert set(state.due("sha-b")) == {"P1", "P2"}
    assert set(state.due(None)) == {"P1"}


def test_a_finished_run_drops_what_it_handled_and_keeps_the_rest() -> None:
    previous = RetryState(
        "cliente-a",
        OLD,
        {
            "P1": RetryEntry("transient", OLD, "product", "no verdict"),
            "P2": RetryEntry("rejected", OLD, "mapping", "bad ean", "sha-a"),
            "P3": RetryEntry("rejected", OLD, "mapping", "no name", "sha-a"),
        },
    )
    failed = {"P3": entry_for(line("P3", False, "mapping"), NEW, "sha-a")}
    state = next_state(previous, run_id=NEW, handled={"P1", "P3", "P9"}, failed=failed)
    assert state.run_id == NEW
    assert set(state.records) == {"P2", "P3"}
    assert state.records["P2"].run_id == OLD  # not handled: kept as it was
    assert state.records["P3"].run_id == NEW  # failed again: this run holds its copy now


def _keep(
    store: RunStore, run_id: str, seen: set[str], failed: list[dict[str, Any]], sha: str = "sha-a"
) -> bool:
    failures = RunFailures()
    for each in failed:
        failures.add(each["id"], each)
    try:
        return keep_for_retry(store, "cliente-a", run_id, RunIdSets(seen, (), set()), failures, sha)
    finally:
        failures.close()


def _puts(store: RunStore) -> list[str]:
    keys: list[str] = []
    store.s3.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: keys.append(params["Key"])
    )
    return keys


def test_no_state_yet_reads_as_empty_and_a_newer_runs_state_is_never_overwritten(
    store: RunStore,
) -> None:
    assert read_state(store, "cliente-a").records == {}
    assert _keep(store, NEWER, {"P1"}, [line("P1", True)])
    assert not _keep(store, NEW, {"P1"}, [])  # an older run that ends late leaves it
    state = read_state(store, "cliente-a")
    assert state.run_id == NEWER and set(state.records) == {"P1"}
    assert state.records["P1"] == RetryEntry("transient", NEWER, "product", "why", "sha-a")
    store.put_bytes(state_prefix("cliente-a") + "shard-000.json.bak", b"{}")  # not a shard
    assert read_state(store, "cliente-a").run_id == NEWER


def test_a_run_writes_only_the_shards_it_changes(store: RunStore) -> None:
    assert _keep(store, OLD, {"P1"}, [line("P1", True)])
    assert list(store.list_keys(state_prefix("cliente-a"))) == [
        state_prefix("cliente-a") + "shard-000.json"  # a small state: one object
    ]
    puts = _puts(store)
    assert _keep(store, NEW, {"P7", "P8"}, [])  # P1 not seen: its entry stays as it was
    assert puts == []
    assert _keep(store, NEWER, {"P1"}, [])  # handled: dropped
    assert len(puts) == 1 and read_state(store, "cliente-a").records == {}


def test_a_run_that_fails_many_records_spreads_the_state_over_more_shards(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _keep(store, OLD, set(), [line(f"K{n}", False, "mapping") for n in range(6)])
    monkeypatch.setattr(carryover, "RETRY_PER_SHARD", 4)  # 20 failures: 8 shards
    failed = [line(f"P{n}", True) for n in range(20)]
    assert _keep(store, NEW, {"K0", "K1"}, failed)

    keys = sorted(store.list_keys(state_prefix("cliente-a")))
    assert store.get_json(state_prefix("cliente-a") + "layout.json") == {"shards": 8}
    assert all("/n8/" in key for key in keys if not key.endswith("layout.json"))
    state = read_state(store, "cliente-a")
    assert set(state.records) == {f"K{n}" for n in range(2, 6)} | {f"P{n}" for n in range(20)}
    assert state.records["K2"].run_id == OLD and state.records["P0"].run_id == NEW
    assert set(state.due("sha-a")) == {f"P{n}" for n in range(20)}


def test_an_older_single_object_moves_into_shards_and_is_removed(store: RunStore) -> None:
    older = RetryState("cliente-a", OLD, {"P1": RetryEntry("transient", OLD, "product", "x")})
    store.put_json(state_key("cliente-a"), older.to_json())
    assert set(read_state(store, "cliente-a").records) == {"P1"}  # read where it is

    assert _keep(store, NEW, {"P2"}, [line("P2", True)])

    assert store.get_json_if_present(state_key("cliente-a")) is None
    assert set(read_state(store, "cliente-a").records) == {"P1", "P2"}


def test_a_state_that_is_not_one_is_refused(store: RunStore) -> None:
    from runtime.errors import RunDataError

    store.put_bytes(state_key("cliente-a"), b"[1, 2]")
    with pytest.raises(RunDataError, match="is not a retry state"):
        read_state(store, "cliente-a")
