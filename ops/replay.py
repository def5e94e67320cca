"""`siesa replay --client ID --run RUN_ID`: send a run's failed records again, and say what now passes.

For after the ERP's data or the mapping was fixed. Which copy of each record
is sent (`copy`, said in the output):
- `run` (the default while the run's `extracted/` pages exist): the copy the
  run saw, from its failed-records line (or its extracted page), re-mapped;
- `erp` (the default once the pages expired, or asked for after an ERP
  fix): the ERP's current copy, read by paging its listing through the
  client's shared ERP budget (runtime/budgets.py) until every wanted record
  was seen, never one request per record.
Then the record goes through the CURRENT mapping bundle and the client's
product adapter, exactly as a run would send it. A record a newer run already loaded is
left alone (sending an old copy could undo a newer value). The outcome of
each record is stored beside the run (`replays/{time}.json`) and returned.
Replay changes neither run history nor the watermark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from contract.linemap import failure_reason, locate
from contract.loaded import LoadedMapping
from ops.clients import get_config
from ops.credentials import product_credentials, siesa_credentials
from ops.deployment import Deployment, resolve, translate_aws_errors
from ops.errors import InputError
from ops.run_evidence import RunEvidence, page_keys, read_runs
from runtime.adapters.registry import get_adapter_class
from runtime.budgets import SIESA_BUDGET_NAME, TableBudget, rate_of
from runtime.config import ClientConfig
from runtime.errors import InvalidEvent, RunDataError
from runtime.handlers.failed_records import raw_copies
from runtime.runstore import failed_records_key, run_prefix, validate_run_id
from runtime.settings import MAX_ITEMS_PER_REQUEST
from runtime.siesa import SiesaSource, make_source

Outcome = Literal["loaded", "rejected", "refused", "gone", "superseded", "no_copy"]
CopyChoice = Literal["auto", "run", "erp"]
COPY_CHOICES: tuple[CopyChoice, ...] = ("auto", "run", "erp")
ReplayProgress = Callable[[str, int, int], None]
"""(what is happening, done, total): `reading the ERP listing`, records found of wanted."""
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
    copy: Literal["run", "erp"] = "run"
    """Which copy was sent: what the run saw, or the ERP's current one."""
    erp_pages: int = 0
    """Pages of the ERP listing read (one request each) for the `erp` copy."""

    @property
    def copy_text(self) -> str:
        """Which copy replay used, in words."""
        if self.copy == "run":
            return "the run's extracted copy (what the run saw)"
        return f"the ERP's current copy ({self.erp_pages:,} listing page(s) read)"

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
            "copy": self.copy,
            "erp_pages": self.erp_pages,
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
    copy: CopyChoice = "auto",
    deployment: Deployment | None = None,
    source_factory: Callable[..., SiesaSource] = make_source,
    adapter_class: Callable[[str], Any] = get_adapter_class,
    on_progress: ReplayProgress | None = None,
) -> ReplayReport:
    """Send the run's failed records again through the current mapping and adapter."""
    target = resolve(deployment)
    config = get_config(target, client_id)
    if copy not in COPY_CHOICES:
        raise InputError(f"copy {copy!r} must be one of {', '.join(COPY_CHOICES)}")
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
    pages = page_keys(store, run_prefix(config.client_id, run_id) + "extracted/")
    if copy == "run" and not pages:
        raise InputError(
            f"the extracted pages of run {run_id} have expired; replay with --copy erp"
        )
    used: Literal["run", "erp"] = "run" if copy == "run" or (copy == "auto" and pages) else "erp"
    mapping = target.bundles().load(
        config.field_mappings_key, product_type=config.product_type, version=config.bundle_pin
    )
    report = ReplayReport(
        config.client_id, run_id, config.field_mappings_key, mapping.sha256, copy=used
    )
    runs = read_runs(target, config.client_id)
    wanted: list[tuple[dict[str, Any], str, str]] = []
    for line in lines:
        record_id = str(line.get("id"))
        was = f"{line.get('stage')}: {line.get('reason')}"
        newer = _loaded_later(runs, run_id, record_id)
        if newer is not None:
            report.records.append(
                ReplayedRecord(record_id, was, "superseded", f"run {newer} loaded it", "none")
            )
        else:
            wanted.append((line, record_id, was))
    pending: list[_Pending] = []
    if used == "run":
        copies = _run_copies(store, pages, [line for line, _, _ in wanted])
        for line, record_id, was in wanted:
            _prepare(line, record_id, was, copies.get(record_id), "run", mapping, report, pending)
    else:
        credentials = siesa_credentials(target, config)
        with source_factory(config, credentials, **_erp_budget(target, config)) as source:
            current = _erp_copies(source, wanted, report, on_progress)
        for line, record_id, was in wanted:
            key = _stored_key(source, line)
            raw = current.get(key) if key is not None else None
            if key is None:
                report.records.append(
                    ReplayedRecord(record_id, was, "no_copy", "the report holds no copy", "none")
                )
            elif raw is None:
                report.records.append(
                    ReplayedRecord(record_id, was, "gone", "the ERP no longer has it", "erp")
                )
            else:
                _prepare(line, record_id, was, raw, "erp", mapping, report, pending)
    with adapter_class(config.product_type)(
        product_credentials(target, config), config, mapping
    ) as adapter:
        _send(adapter, pending, report, on_progress)
    key = f"{run_prefix(config.client_id, run_id)}replays/{_stamp()}.json"
    store.put_json(key, report.to_json())
    report.report_key = key
    return report


def _stored(line: dict[str, Any]) -> dict[str, Any] | None:
    record = line.get("record")
    return record if isinstance(record, dict) else None


def _run_copies(
    store: Any, pages: list[str], lines: Iterable[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Each failed record's copy as the run saw it: its report line's, else its extracted page's."""
    copies: dict[str, dict[str, Any]] = {}
    missing: dict[str, str] = {}
    for line in lines:
        stored = _stored(line)
        if stored is not None:
            copies[str(line.get("id"))] = stored
        elif isinstance(line.get("position"), str):
            missing[str(line["position"])] = str(line.get("id"))
    if missing:
        found = raw_copies(store, pages, set(missing))
        copies.update({missing[position]: raw for position, raw in found.items()})
    return copies


def _stored_key(source: SiesaSource, line: dict[str, Any]) -> str | None:
    """The ERP key of a failed record, from the copy its report line holds."""
    stored = _stored(line)
    if stored is None:
        return None
    try:
        return source.record_key(stored)
    except Exception:
        return None


def _erp_budget(deployment: Deployment, config: ClientConfig) -> dict[str, Any]:
    """`budget=` the client's shared ERP budget, so replay and a running sync share the limit."""
    table = deployment.budgets_table
    if not table:
        return {}
    rate = rate_of(config, SIESA_BUDGET_NAME)
    budget = TableBudget(table, SIESA_BUDGET_NAME, rate, dynamodb=deployment.client("dynamodb"))
    return {"budget": budget}


def _erp_copies(
    source: SiesaSource,
    wanted: list[tuple[dict[str, Any], str, str]],
    report: ReplayReport,
    on_progress: ReplayProgress | None,
) -> dict[str, dict[str, Any]]:
    """The ERP's current copies of the wanted records, by paging its listing until all were seen."""
    keys = {key for line, _, _ in wanted if (key := _stored_key(source, line)) is not None}
    found: dict[str, dict[str, Any]] = {}
    if not keys:
        return found
    for page in source.iter_pages(None):
        report.erp_pages += 1
        for record in page:
            key = source.record_key(record)
            if key in keys:
                found[key] = record
        if on_progress is not None:
            on_progress("reading the ERP listing", len(found), len(keys))
        if len(found) == len(keys):
            break
    return found


def _prepare(
    line: dict[str, Any],
    record_id: str,
    was: str,
    raw: dict[str, Any] | None,
    copy: Literal["erp", "run"],
    mapping: LoadedMapping,
    report: ReplayReport,
    pending: list[_Pending],
) -> None:
    """Map the record's copy; what cannot go on is reported at once."""
    stored = _stored(line)
    legacy = line.get("stage") == "product" and "canonical" not in line
    if copy == "run" and stored is not None and legacy:
        # a report written before raw copies were kept: `record` is the canonical record
        pending.append(_Pending(record_id, was, "run", stored))
        return
    if raw is None:
        report.records.append(
            ReplayedRecord(record_id, was, "no_copy", "the report holds no copy", "none")
        )
        return
    canonical, reasons = _map(mapping, raw, record_id)
    if canonical is None:
        report.records.append(ReplayedRecord(record_id, was, "rejected", reasons, copy))
        return
    pending.append(_Pending(record_id, was, copy, canonical))


def _send(
    adapter: Any,
    pending: list[_Pending],
    report: ReplayReport,
    on_progress: ReplayProgress | None = None,
) -> None:
    """The mapped records through the adapter, at most 100 per call."""
    for start in range(0, len(pending), MAX_ITEMS_PER_REQUEST):
        if on_progress is not None:
            on_progress("sending to the product", start, len(pending))
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
    if on_progress is not None:
        on_progress("sending to the product", len(pending), len(pending))


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
