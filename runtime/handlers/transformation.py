"""The transformer's core: extracted pages through the client's compiled mapping.

Per record, `to_canonical` gives the canonical record or a rejection, plus
issues. Out go the canonical pages, the validation report (one line per
issue: record id, canonical field, `.map` line, value, reason, severity)
and `rejected.ndjson` (one line per rejected record, with its reasons and
the raw record for replay), which the loader folds into failed_records.
After the extracted pages come the records the client's retry state holds
for this run (retried.py): their raw copies go to `retried.ndjson` and
through the mapping like any other record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from contract.linemap import failure_reason, locate
from contract.loaded import LoadedMapping
from runtime.config_store import utc_now_iso
from runtime.errors import InvalidEvent, TransientError
from runtime.handlers.deps import Deps
from runtime.handlers.events import Extracted, Transformed, ValidationSummary
from runtime.handlers.retried import due_copies
from runtime.observability import bind_run, logger
from runtime.runstore import (
    NdjsonWriter,
    PageWriter,
    check_run_key,
    rejected_key,
    retried_key,
    validation_report_key,
)

ISSUE_KEYS = ("record_id", "field", "line", "value", "reason", "severity", "action")

CanonicalFn = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, list[dict[str, Any]]]]


def transform(event: Extracted, deps: Deps) -> Transformed:
    """Map every extracted record; returns the claim-check for the loader."""
    client_id, run_id = event.client_id, event.run_id
    bind_run("transformer", client_id, event.sync_type, run_id)
    pages = [check_run_key(key, client_id, run_id) for key in event.extracted_pages]
    deps.resume_run(client_id, run_id)
    try:
        config = deps.configs.get(client_id)
        if config.product_type != event.product_type:
            raise InvalidEvent(
                f"event product_type {event.product_type!r} is not the client's {config.product_type!r}"
            )
        mapping = deps.bundles.load(config.field_mappings_key, product_type=config.product_type)
        logger.info(
            "Starting transformation",
            extra={
                "metadata": {
                    "mapping": config.field_mappings_key,
                    "pages": len(pages),
                    "count": event.count,
                }
            },
        )
        store = deps.run_store(event.bucket)
        tally = _Tally()
        mapping_sha256 = mapping.sha256
        with (
            store.page_writer(client_id, run_id, "canonical") as canonical,
            store.ndjson_writer(validation_report_key(client_id, run_id)) as report,
            store.ndjson_writer(rejected_key(client_id, run_id)) as rejected,
            store.ndjson_writer(retried_key(client_id, run_id)) as retried,
        ):
            seen: set[str] = set()
            for page_key in pages:
                for index, record in enumerate(store.iter_lines(page_key), start=1):
                    seen.add(
                        _map_one(
                            mapping,
                            record,
                            f"{page_key}#{index}",
                            canonical,
                            report,
                            rejected,
                            tally,
                        )
                    )
            for index, record in enumerate(
                due_copies(store, client_id, mapping_sha256, seen), start=1
            ):
                retried.write(record)
                _map_one(
                    mapping, record, f"{retried.key}#{index}", canonical, report, rejected, tally
                )
    except TransientError as exc:
        deps.record_error(client_id, run_id, exc, final=False)
        raise
    except Exception as exc:
        deps.record_error(client_id, run_id, exc, final=True)
        raise
    deps.history.update(
        client_id,
        run_id,
        canonical_count=canonical.count,
        rejected_count=rejected.count,
        retried_count=retried.count,
        mapping_sha256=mapping_sha256,
        transformed_at=utc_now_iso(),
    )
    summary = ValidationSummary(
        count=tally.errors,
        warnings=tally.warnings,
        by_field=dict(sorted(tally.by_field.items())),
        report_key=report.key,
    )
    logger.info(
        "Transformation finished",
        extra={
            "metadata": {
                "canonical": canonical.count,
                "rejected": rejected.count,
                "retried": retried.count,
                "errors": tally.errors,
                "warnings": tally.warnings,
                "by_field": summary.by_field,
            }
        },
    )
    if rejected.count:
        logger.warning(
            f"the mapping rejected {rejected.count} record(s)",
            extra={"metadata": {"by_field": summary.by_field, "report_key": report.key}},
        )
    return Transformed(
        **event.model_dump(exclude={"count"}),
        canonical_pages=canonical.close(),
        count=canonical.count,
        rejected_count=rejected.count,
        rejected_key=rejected.key,
        transformation_timestamp=utc_now_iso(),
        validation_errors=summary,
        retried_key=retried.key if retried.count else None,
        retried_count=retried.count,
        mapping_sha256=mapping_sha256,
    )


class _Tally:
    """Counts of the issues seen."""

    def __init__(self) -> None:
        self.errors = 0
        self.warnings = 0
        self.by_field: Counter[str] = Counter()


def _map_one(
    mapping: LoadedMapping,
    record: Any,
    position: str,
    canonical: PageWriter,
    report: NdjsonWriter,
    rejected: NdjsonWriter,
    tally: _Tally,
) -> str:
    """One record through `to_canonical`; returns the id it is known by ("" when it has none).

    A mapping that raises rejects the record, not the run.
    """
    to_canonical: CanonicalFn = mapping.to_canonical
    if not isinstance(record, dict):
        result: dict[str, Any] | None = None
        issues = [_issue(None, None, None, "the extracted line is not a JSON object")]
    else:
        try:
            result, issues = to_canonical(record)
        except Exception as exc:
            result = None
            where = locate(exc, mapping)
            at = where.line if where is not None else None
            issues = [_issue(_raw_id(record), None, at, failure_reason(exc, where))]
    record_id: Any = None
    reasons = []
    for issue in issues:
        line = {key: issue.get(key) for key in ISSUE_KEYS}
        line["position"] = position
        report.write(line)
        record_id = record_id if record_id is not None else issue.get("record_id")
        if issue.get("severity") == "warning":
            tally.warnings += 1
            continue
        tally.errors += 1
        field = issue.get("field")
        tally.by_field[str(field) if field is not None else "record"] += 1
        reasons.append(f"{field}: {issue.get('reason')}" if field else str(issue.get("reason")))
    if result is not None:
        canonical.write(result)
        return "" if result.get("id") is None else str(result["id"])
    reported_id = record_id if record_id is not None else _raw_id(record)
    rejected.write(
        {
            "id": reported_id,
            "stage": "mapping",
            "reason": "; ".join(reasons) or "rejected by the mapping",
            "retryable": False,
            "position": position,
            "record": record,
        }
    )
    return "" if reported_id is None else str(reported_id)


def _issue(record_id: Any, field: str | None, line: int | None, reason: str) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "field": field,
        "line": line,
        "value": None,
        "reason": reason,
        "severity": "error",
        "action": "reject",
    }


def _raw_id(record: Any) -> str | None:
    """A best-effort id from the raw ERP record when the mapping gave none."""
    if isinstance(record, dict):
        value = record.get("f_codigo")
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None
