"""`siesa replay --client ID --run RUN_ID`: send a run's failed records again, and say what now passes.

For after the ERP's data or the mapping was fixed. Each line of the run's
`failed-records.ndjson` holds the record's raw ERP copy. The ERP's current
copy is read instead when the client's ERP dialect can read one record
(REST: GET /inventory/products/{id}), so an ERP fix counts; then the record
goes through the CURRENT mapping bundle and the client's product adapter,
exactly as a run would send it. A record a newer run already loaded is
left alone (sending an old copy could undo a newer value). The outcome of
each record is stored beside the run (`replays/{time}.json`) and returned.
Replay changes neither run history nor the watermark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from contract.linemap import failure_reason, locate
from contract.loaded import LoadedMapping
from ops.clients import get_config
from ops.credentials import product_credentials, siesa_credentials
from ops.deployment import Deployment, resolve, translate_aws_errors
from ops.errors import InputError
from ops.run_evidence import RunEvidence, read_runs
from runtime.adapters.registry import get_adapter_class
from runtime.errors import InvalidEvent, RunDataError
from runtime.runstore import failed_records_key, run_prefix, validate_run_id
from runtime.settings import MAX_ITEMS_PER_REQUEST
from runtime.siesa import SiesaSource, make_source

Outcome = Literal["loaded", "rejected", "refused", "gone", "superseded", "no_copy"]
PASSED: tuple[Outcome, ...] = ("loaded",)
EXIT_ALL_PASSED, EXIT_SOME_FAIL = 0, 3


@dataclass(frozen=True)
class ReplayedRecord:
    """One failed record sent again: what the run said, and what happens now."""

    record_id: str
    was: str
    outcome: Outcome
    detail: str
    copy: Literal["erp", "run", "none"]

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json` and the stored report."""
        return {
            "id": self.record_id,
            "was": self.was,
            "outcome": self.outcome,
            "detail": self.detail,
            "copy": self.copy,
        }


@dataclass
class ReplayReport:
    """A replay of one run's failed records."""

    client_id: str
    run_id: str
    mapping: str
    mapping_sha256: str | None
    records: list[ReplayedRecord] = field(default_factory=list)
    report_key: str | None = None

    def count(self, *outcomes: Outcome) -> int:
        """Records that ended so."""
        return sum(1 for record in self.records if record.outcome in outcomes)

    @property
    def passed(self) -> int:
        """Records that reached the product now."""
        return self.count(*PASSED)

    @property
    def exit_code(self) -> int:
        """0 when every record sent now passes, 3 when some still fail."""
        sent = [record for record in self.records if record.outcome != "superseded"]
        return EXIT_ALL_PASSED if all(r.outcome in PASSED for r in sent) else EXIT_SOME_FAIL

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json` and the stored report."""
        outcomes = sorted({record.outcome for record in self.records})
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "mapping": self.mapping,
            "mapping_sha256": self.mapping_sha256,
            "replayed": len(self.records),
            "passed": self.passed,
            "by_outcome": {outcome: self.count(outcome) for outcome in outcomes},
            "report_key": self.report_key,
            "records": [record.to_json() for record in self.records],
        }


@dataclass
class _Pending:
    """A record on its way to the product."""

    record_id: str
    was: str
    copy: Literal["erp", "run"]
    canonical: dict[str, Any]


def _loaded_later(runs: Sequence[RunEvidence], run_id: str, record_id: str) -> str | None:
    """The newer run that loaded this record, if any."""
    for evidence in reversed(runs):
        if evidence.run_id > run_id and record_id in evidence.loaded:
            return evidence.run_id
    return None


def _current_copy(
    source: SiesaSource | None, stored: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, Literal["erp", "run", "none"]]:
    """The ERP's current copy when the source can read one record, else the stored one."""
    fetch = getattr(source, "fetch_record", None)
    if stored is None or fetch is None or source is None:
        return stored, "run" if stored is not None else "none"
    return fetch(source.record_key(stored)), "erp"


def _map(
    mapping: LoadedMapping, raw: dict[str, Any], record_id: str
) -> tuple[dict[str, Any] | None, str]:
    """The canonical record `record_id` by the current mapping, or why the mapping gives none.

    Through `map_record`: a one-to-many record gives several, and the failed
    record is the line with this id (its issues name it); a skip says so.
    """
    try:
        records, issues = mapping.map_record(dict(raw))
    except Exception as exc:
        return None, failure_reason(exc, locate(exc, mapping))
    if len(records) == 1 and not any(issue.get("part") for issue in issues):
        return records[0], ""
    found = [record for record in records if str(record.get("id")) == record_id]
    if found:
        return found[0], ""
    if any(issue.get("action") == "skip" for issue in issues):
        return None, "skipped by the mapping"
    own = [issue for issue in issues if str(issue.get("record_id")) == record_id] or issues
    reasons = [
        f"{issue.get('field')}: {issue.get('reason')}" if issue.get("field") else issue["reason"]
        for issue in own
        if issue.get("severity") not in ("warning", "info")
    ]
    return None, "; ".join(reasons) or "rejected by the mapping"


@translate_aws_errors
def replay(
    client_id: str,
    run_id: str,
    *,
    deployment: Deployment | None = None,
    source_factory: Callable[..., SiesaSource] = make_source,
    adapter_class: Callable[[str], Any] = get_adapter_class,
) -> ReplayReport:
    """Send the run's failed records again through the current mapping and adapter."""
    target = resolve(deployment)
    config = get_config(target, client_id)
    try:
        run_id = validate_run_id(run_id)
    except InvalidEvent as exc:
        raise InputError(str(exc)) from None
    store = target.run_store()
    try:
        lines = [
            line
            for line in store.iter_lines(failed_records_key(config.client_id, run_id))
            if isinstance(line, dict)
        ]
    except RunDataError:
        raise InputError(
            f"run {run_id} of client {config.client_id} left no failed-records report "
            "(it stopped before loading; run a sync instead)"
        ) from None
    mapping = target.bundles().load(
        config.field_mappings_key, product_type=config.product_type, version=config.bundle_pin
    )
    report = ReplayReport(config.client_id, run_id, config.field_mappings_key, mapping.sha256)
    runs = read_runs(target, config.client_id)
    pending: list[_Pending] = []
    with source_factory(config, siesa_credentials(target, config)) as source:
        for line in lines:
            record_id = str(line.get("id"))
            was = f"{line.get('stage')}: {line.get('reason')}"
            newer = _loaded_later(runs, run_id, record_id)
            if newer is not None:
                report.records.append(
                    ReplayedRecord(record_id, was, "superseded", f"run {newer} loaded it", "none")
                )
                continue
            _prepare(line, record_id, was, source, mapping, report, pending)
    with adapter_class(config.product_type)(
        product_credentials(target, config), config, mapping
    ) as adapter:
        _send(adapter, pending, report)
    key = f"{run_prefix(config.client_id, run_id)}replays/{_stamp()}.json"
    store.put_json(key, report.to_json())
    report.report_key = key
    return report


def _prepare(
    line: dict[str, Any],
    record_id: str,
    was: str,
    source: SiesaSource,
    mapping: LoadedMapping,
    report: ReplayReport,
    pending: list[_Pending],
) -> None:
    """Find the record's copy and map it; what cannot go on is reported at once."""
    stored = line.get("record") if isinstance(line.get("record"), dict) else None
    if stored is not None and line.get("stage") == "product" and "canonical" not in line:
        # a report written before raw copies were kept: `record` is the canonical record
        pending.append(_Pending(record_id, was, "run", stored))
        return
    raw, copy = _current_copy(source, stored)
    if copy == "none":
        report.records.append(
            ReplayedRecord(record_id, was, "no_copy", "the report holds no copy", "none")
        )
        return
    if raw is None:
        report.records.append(
            ReplayedRecord(record_id, was, "gone", "the ERP no longer has it", copy)
        )
        return
    canonical, reasons = _map(mapping, raw, record_id)
    if canonical is None:
        report.records.append(ReplayedRecord(record_id, was, "rejected", reasons, copy))
        return
    pending.append(_Pending(record_id, was, copy, canonical))


def _send(adapter: Any, pending: list[_Pending], report: ReplayReport) -> None:
    """The mapped records through the adapter, at most 100 per call."""
    for start in range(0, len(pending), MAX_ITEMS_PER_REQUEST):
        chunk = pending[start : start + MAX_ITEMS_PER_REQUEST]
        products: list[dict[str, Any]] = []
        sendable: list[_Pending] = []
        for item in chunk:
            try:
                (product,) = adapter.transform_products([item.canonical])
            except Exception as exc:
                detail = f"to_product failed: {type(exc).__name__}: {exc}"
                report.records.append(
                    ReplayedRecord(item.record_id, item.was, "rejected", detail, item.copy)
                )
                continue
            products.append(product)
            sendable.append(item)
        if not products:
            continue
        result = adapter.load_batch(products)
        refused = {failure.id: failure.reason for failure in result.failed}
        for item, product in zip(sendable, products, strict=True):
            product_id = adapter.id_of(product)
            if product_id in result.statuses:
                detail = f"{result.statuses[product_id]} in the product"
                report.records.append(
                    ReplayedRecord(item.record_id, item.was, "loaded", detail, item.copy)
                )
            else:
                reason = refused.get(product_id, "the product gave no outcome")
                report.records.append(
                    ReplayedRecord(item.record_id, item.was, "refused", reason, item.copy)
                )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
