"""The transform stage's core: raw ERP records through the client's mapping.

Per record, the mapping's `to_canonical` gives the canonical record or a
rejection, plus issues. The outcome of each record holds what the run
writes for it: the canonical record, its validation-report lines (record
id, canonical field, `.map` line, value, reason, severity, where the record
was) or its `rejected.ndjson` line (its reasons and the raw record, for
replay). A mapping that raises rejects the record, not the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from contract.linemap import failure_reason, locate
from contract.loaded import LoadedMapping

ISSUE_KEYS = ("record_id", "field", "line", "value", "reason", "severity", "action")

Line = dict[str, Any]


class RecordMapping(Protocol):
    """A loaded mapping: anything with `to_canonical(record) -> (canonical or None, issues)`."""

    def to_canonical(self, record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Line]]: ...


@dataclass(frozen=True)
class RecordOutcome:
    """What one record became: a canonical record or a rejection, and its report lines."""

    record_id: str
    """The id the record is known by ("" when it has none)."""
    canonical: dict[str, Any] | None
    rejection: Line | None
    report: list[Line]


@dataclass
class Tally:
    """Counts of the issues seen (errors by canonical field, "record" when none)."""

    errors: int = 0
    warnings: int = 0
    by_field: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: RecordOutcome) -> None:
        """Count a record's issues."""
        for line in outcome.report:
            if line.get("severity") == "warning":
                self.warnings += 1
                continue
            self.errors += 1
            name = line.get("field")
            self.by_field[str(name) if name is not None else "record"] += 1


def describe_mapping_failure(mapping: RecordMapping, exc: Exception) -> tuple[str, int | None]:
    """Why a record was rejected when the mapping raised on it: (reason, `.map` line or None).

    A compiled mapping's line map names the `.map` file and line of the field
    whose code raised; a stand-in without one gives the reason alone.
    """
    where = locate(exc, mapping) if isinstance(mapping, LoadedMapping) else None
    return failure_reason(exc, where), where.line if where is not None else None


def map_record(mapping: RecordMapping, record: Any, position: str) -> RecordOutcome:
    """One record through `mapping.to_canonical`; `position` says where the record was read."""
    canonical: dict[str, Any] | None = None
    if not isinstance(record, dict):
        issues = [_issue(None, None, None, "the extracted line is not a JSON object")]
    else:
        try:
            canonical, issues = mapping.to_canonical(record)
        except Exception as exc:
            canonical = None
            reason, line = describe_mapping_failure(mapping, exc)
            issues = [_issue(_raw_id(record), None, line, reason)]
    record_id: Any = None
    reasons = []
    report = []
    for issue in issues:
        report.append({**{key: issue.get(key) for key in ISSUE_KEYS}, "position": position})
        record_id = record_id if record_id is not None else issue.get("record_id")
        if issue.get("severity") == "warning":
            continue
        name = issue.get("field")
        reasons.append(f"{name}: {issue.get('reason')}" if name else str(issue.get("reason")))
    if canonical is not None:
        known = "" if canonical.get("id") is None else str(canonical["id"])
        return RecordOutcome(known, canonical, None, report)
    reported_id = record_id if record_id is not None else _raw_id(record)
    rejection = {
        "id": reported_id,
        "stage": "mapping",
        "reason": "; ".join(reasons) or "rejected by the mapping",
        "retryable": False,
        "position": position,
        "record": record,
    }
    return RecordOutcome("" if reported_id is None else str(reported_id), None, rejection, report)


def map_records(
    mapping: RecordMapping, records: Iterable[tuple[str, Any]]
) -> Iterator[RecordOutcome]:
    """Each (position, record) through the mapping, in order."""
    for position, record in records:
        yield map_record(mapping, record, position)


def positioned(key: str, records: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    """Records read from `key` with their position: `key#1`, `key#2`, ..."""
    for index, record in enumerate(records, start=1):
        yield f"{key}#{index}", record


def _issue(record_id: Any, field: str | None, line: int | None, reason: str) -> Line:
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
