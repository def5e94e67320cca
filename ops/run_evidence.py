"""What a client's runs say about each record: loaded, or reported as failed (and why).

A run speaks for a record only when its loader left a failed-records report
(`runs/{client_id}/{run_id}/failed-records.ndjson`): a finished loader
writes it, and so does a loader that stopped part way (it reports every
record it did not load). Only a finished run (`success`, `partial`) gives
a verdict reconciliation believes (`RunEvidence.finished`): a failed run's
report is kept to say which run did not deliver a record, and what to replay. The records a run loaded are its canonical records
minus the product-stage failures. The newest run that speaks for a record
gives its verdict. A run that names one record twice (two canonical copies,
two failed lines) has counted it twice: reconciliation reports that as a
duplicate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ops.deployment import Deployment
from ops.errors import InputError
from runtime.errors import RunDataError
from runtime.runstore import RunStore, failed_records_key, run_prefix
from runtime.sync_state import FINISHED_STATUSES

Outcome = Literal["loaded", "reported"]


@dataclass(frozen=True)
class Verdict:
    """What the newest run that handled a record did with it."""

    outcome: Outcome
    run_id: str
    reason: str | None = None
    stage: str | None = None
    retryable: bool | None = None


@dataclass
class RunEvidence:
    """One run's account of its records."""

    run_id: str
    status: str | None
    mapping_sha256: str | None
    loaded: set[str] = field(default_factory=set)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    repeated: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """The run ended `success` or `partial`: only then does its report speak for a record.

        A failed run's report says what it did not load, not that the record was
        dealt with: until a finished run delivers or reports it, it is missing.
        """
        return self.status in FINISHED_STATUSES

    def verdict(self, record_id: str) -> Verdict | None:
        """This run's verdict on `record_id`, or None when the run did not handle it."""
        line = self.failed.get(record_id)
        if line is not None:
            return Verdict(
                "reported",
                self.run_id,
                reason=str(line.get("reason") or "no reason given"),
                stage=line.get("stage"),
                retryable=line.get("retryable"),
            )
        if record_id in self.loaded:
            return Verdict("loaded", self.run_id)
        return None


def _text_id(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def page_keys(store: RunStore, prefix: str) -> list[str]:
    """Every object key under `prefix`, sorted (a stage's pages come in page order)."""
    paginator = store.s3.get_paginator("list_objects_v2")
    keys: list[str] = []
    for page in paginator.paginate(Bucket=store.bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)


def read_run(store: RunStore, client_id: str, item: dict[str, Any]) -> RunEvidence | None:
    """The evidence of one run (its run-history item), or None when it left no report."""
    run_id = str(item["run_id"])
    try:
        failed_lines = list(store.iter_lines(failed_records_key(client_id, run_id)))
    except RunDataError:
        return None
    evidence = RunEvidence(
        run_id=run_id,
        status=item.get("status"),
        mapping_sha256=item.get("mapping_sha256"),
    )
    product_failures: set[str] = set()
    for line in failed_lines:
        if not isinstance(line, dict):
            continue
        record_id = _text_id(line.get("id")) or "(no id)"
        if record_id in evidence.failed:
            evidence.repeated.append(record_id)
        evidence.failed[record_id] = {key: value for key, value in line.items() if key != "record"}
        if line.get("stage") != "mapping":
            product_failures.add(record_id)
    canonical_ids: Counter[str] = Counter()
    for key in page_keys(store, run_prefix(client_id, run_id) + "canonical/"):
        for record in store.iter_lines(key):
            canonical_id = _text_id(record.get("id")) if isinstance(record, dict) else None
            if canonical_id is not None:
                canonical_ids[canonical_id] += 1
    evidence.repeated.extend(item for item, seen in canonical_ids.items() if seen > 1)
    evidence.loaded = set(canonical_ids) - product_failures
    return evidence


def run_items(
    deployment: Deployment, client_id: str, *, newest_first: bool = False
) -> Iterator[dict[str, Any]]:
    """Every run-history item of the client, oldest first (or newest first), page by page."""
    from runtime.config_store import from_item

    paginator = deployment.client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
        TableName=deployment.runs_table,
        KeyConditionExpression="client_id = :c",
        ExpressionAttributeValues={":c": {"S": client_id}},
        ScanIndexForward=not newest_first,
        ConsistentRead=True,
    ):
        for item in page.get("Items", []):
            yield from_item(item)


def newest_finished_run(deployment: Deployment, client_id: str) -> dict[str, Any]:
    """The run-history item of the client's newest run that finished (success or partial).

    A failed run may have stopped part way, so its pages are not a whole picture
    of what the ERP held: tools that re-map a run's records start from this one.
    A stock-only run holds stock rows, not ERP records: it is passed over.
    """
    from runtime.sync_state import FINISHED_STATUSES

    for item in run_items(deployment, client_id, newest_first=True):
        if item.get("status") in FINISHED_STATUSES and item.get("sync_type") != "stock":
            return item
    raise InputError(
        f"client {client_id} has no finished run (success or partial) at {deployment.where}; "
        f"run `siesa sync --client {client_id} --wait` first"
    )


def read_runs(deployment: Deployment, client_id: str) -> list[RunEvidence]:
    """The evidence of every run of the client that left a report, oldest first."""
    store = deployment.run_store()
    found = (read_run(store, client_id, item) for item in run_items(deployment, client_id))
    return [evidence for evidence in found if evidence is not None]


def latest_verdict(runs: Sequence[RunEvidence], record_ids: Iterable[str]) -> Verdict | None:
    """The newest run's verdict on a record known by any of `record_ids`."""
    candidates = [record_id for record_id in dict.fromkeys(record_ids) if record_id]
    for evidence in reversed(runs):
        for record_id in candidates:
            verdict = evidence.verdict(record_id)
            if verdict is not None:
                return verdict
    return None
