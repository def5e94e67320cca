"""The retry state's rules, on moto's S3: what is due, what a finished run keeps, who may write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from runtime import aws as aws_clients
from runtime.carryover import (
    RetryEntry,
    RetryState,
    entry_for,
    next_state,
    read_state,
    state_key,
    write_state,
)
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


def test_no_state_yet_reads_as_empty_and_a_newer_runs_state_is_never_overwritten(
    store: RunStore,
) -> None:
    assert read_state(store, "cliente-a").records == {}
    newer = RetryState("cliente-a", NEWER, {"P1": RetryEntry("transient", NEWER, "product", "x")})
    assert write_state(store, newer)
    older = RetryState("cliente-a", NEW, {})
    assert not write_state(store, older)  # an older run that ends late leaves it
    assert read_state(store, "cliente-a").to_json() == newer.to_json()
    store.put_bytes(state_key("cliente-a") + ".bak", b"{}")  # a neighbour key is not the state
    assert read_state(store, "cliente-a").run_id == NEWER


def test_a_state_that_is_not_one_is_refused(store: RunStore) -> None:
    from runtime.errors import RunDataError

    store.put_bytes(state_key("cliente-a"), b"[1, 2]")
    with pytest.raises(RunDataError, match="is not a retry state"):
        read_state(store, "cliente-a")
