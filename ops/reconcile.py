"""`siesa reconcile --client ID`: after an incident, what of the ERP is not in the product, and why.

Reads the client's ERP catalog through its Siesa source (the real API),
the product's whole holding through the product's paged listing (Kong GET
/products, WMS GET .../items), and what every run of the client reported
(run_evidence.py); applies the current compiled mapping from the bundle,
and lists each difference (catalog_differences.py), among them the records
the product holds that no ERP record maps to (orphans) and those it holds
twice. A product without a listing is read one GET per record the ERP maps
to, and the report says what could not be looked for. The records that left
the client's scope (each run's `left-scope.ndjson`, newest word per record,
and the actions still pending) are listed apart. Only finished runs' reports
count (run_evidence.py): a record a failed run did not deliver is missing.
The report ends with what repairs what it found (repair.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ops.catalog_differences import (
    KINDS,
    Difference,
    ErpRecord,
    ReconcileReport,
    compare,
    map_record,
)
from ops.clients import get_config
from ops.credentials import product_credentials, siesa_credentials
from ops.deployment import Deployment, resolve, translate_aws_errors
from ops.repair import next_steps
from ops.run_evidence import RunEvidence, read_runs
from runtime.adapters.registry import get_adapter_class
from runtime.errors import RunDataError
from runtime.http.pages import MAX_PAGE_SIZE
from runtime.runstore import RunStore
from runtime.scope import left_scope_key, read_live
from runtime.siesa import SiesaSource, make_source

ERP_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PRODUCT_READERS = 8
"""Concurrent GETs of stored product records (a product without a listing)."""


def read_erp(source: SiesaSource) -> list[ErpRecord]:
    """Every record of the ERP, one per key (the newest copy when paging showed one twice)."""
    newest: dict[str, ErpRecord] = {}
    for page in source.iter_pages(None):
        for record in page:
            found = ErpRecord(source.record_key(record), source.record_modified(record), record)
            held = newest.get(found.key)
            if held is None or found.modified >= held.modified:
                newest[found.key] = found
    return sorted(newest.values(), key=lambda item: (item.modified, item.key))


def scope_limit(watermark: str | None, timezone: str) -> str | None:
    """The watermark as ERP local time ("YYYY-MM-DD HH:MM:SS"): records changed before it are in scope."""
    if not watermark:
        return None
    moment = datetime.fromisoformat(watermark)
    return moment.astimezone(ZoneInfo(timezone)).strftime(ERP_TIME_FORMAT)


def _read_all(read: Callable[[str], Any], ids: Iterable[str]) -> dict[str, Any]:
    wanted = sorted(set(ids))
    with ThreadPoolExecutor(max_workers=PRODUCT_READERS) as pool:
        return dict(zip(wanted, pool.map(read, wanted), strict=True))


def _notes(report: ReconcileReport, runs: list[RunEvidence]) -> None:
    if report.watermark is None:
        report.notes.append("no run has finished yet, so no watermark: every ERP record is pending")
    used = {evidence.mapping_sha256 for evidence in runs[-1:] if evidence.mapping_sha256}
    if used and report.mapping_sha256 not in used:
        report.notes.append(
            "the mapping changed since the newest run; records it did not handle still hold "
            "the old mapping's values until they change or an initial sync runs"
        )
    if not report.listing_checked:
        report.notes.append(
            f"the {report.product_type} API offers no listing: records the product holds twice "
            "or that no ERP record maps to are not looked for"
        )


@translate_aws_errors
def reconcile(
    client_id: str,
    *,
    deployment: Deployment | None = None,
    page_size: int = MAX_PAGE_SIZE,
    source_factory: Callable[..., SiesaSource] = make_source,
    adapter_class: Callable[[str], Any] = get_adapter_class,
) -> ReconcileReport:
    """Compare the client's ERP, product and run reports; the report lists every difference.

    `page_size` is the records per page of the product's listing (1..1000).
    """
    target = resolve(deployment)
    config = get_config(target, client_id)
    mapping = target.bundles().load(
        config.field_mappings_key, product_type=config.product_type, version=config.bundle_pin
    )
    runs = read_runs(target, config.client_id)
    with source_factory(config, siesa_credentials(target, config)) as source:
        erp = read_erp(source)
    report = ReconcileReport(
        client_id=config.client_id,
        product_type=config.product_type,
        mapping=config.field_mappings_key,
        mapping_sha256=mapping.sha256,
        watermark=config.last_sync_watermark,
        left_scope=left_scope(target.run_store(), config.client_id, runs),
    )
    credentials = product_credentials(target, config)
    with adapter_class(config.product_type)(credentials, config, mapping) as adapter:
        listing = adapter.list_products(page_size) if adapter.listing_url() is not None else None
        if listing is not None:
            held = _first_of_each(listing, adapter.id_field)
        else:
            held = _read_all(adapter.fetch_product, _product_ids(erp, mapping, adapter.id_field))
        compare(
            report=report,
            mapping=mapping,
            id_field=adapter.id_field,
            erp=erp,
            scope_before=scope_limit(config.last_sync_watermark, config.siesa_timezone),
            runs=runs,
            read_product=lambda product_id: held.get(product_id),
            listing=listing,
        )
    _notes(report, runs)
    report.next_steps = next_steps(report)
    return report


def _first_of_each(listing: Iterable[dict[str, Any]], id_field: str) -> dict[str, Any]:
    """The listed records by id; of a record held twice, the first copy (the report names both)."""
    held: dict[str, Any] = {}
    for record in listing:
        held.setdefault(str(record.get(id_field)), record)
    return held


def left_scope(
    store: RunStore, client_id: str, runs: Iterable[RunEvidence]
) -> list[dict[str, Any]]:
    """Records that left the client's scope, by id: the newest run's line; pending ones say so."""
    newest: dict[str, dict[str, Any]] = {}
    for evidence in runs:
        try:
            for line in store.iter_lines(left_scope_key(client_id, evidence.run_id)):
                if isinstance(line, dict) and line.get("id") is not None:
                    newest[str(line["id"])] = {**line, "run_id": evidence.run_id}
        except RunDataError:
            continue  # a run from before records could leave scope, or one that stopped
    for record_id in read_live(store, client_id).pending:
        newest.setdefault(record_id, {"id": record_id, "outcome": "failed"})["pending"] = True
    return [newest[record_id] for record_id in sorted(newest)]


def _product_ids(erp: Iterable[ErpRecord], mapping: Any, id_field: str) -> list[str]:
    """The product ids the mapping gives the ERP's records (read ahead, concurrently)."""
    mapped = (item for record in erp for item in map_record(mapping, id_field, record))
    return [item.product_id for item in mapped if item.product_id is not None]


__all__ = [
    "KINDS",
    "MAX_PAGE_SIZE",
    "Difference",
    "ErpRecord",
    "ReconcileReport",
    "read_erp",
    "reconcile",
]
