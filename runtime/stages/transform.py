"""The transform stage's core: raw ERP records through the client's mapping.

Per record, the mapping's `map_record` gives the canonical records it
becomes (one, several for a one-to-many mapping, or none) and its issues.
The outcome of each record holds what the run writes for it: the canonical
records, its validation-report lines (record id, canonical field, `.map`
file and line, value, reason, severity, where the record was), its
`rejected.ndjson` lines (the whole record, or each rejected line of a
one-to-many record, with the reasons and the raw record, for replay), or,
when a `skip when` rule held, its `skipped.ndjson` line: a skipped record
is not a failure. A mapping that raises rejects the record, not the run.

Each canonical record also goes through the mapping's `to_product` here, so
the run writes product-ready page lines (`ReadyLine`: the canonical record,
the product's record and where the ERP record was) and the loader runs no
mapping code. A `to_product` that raises rejects that record like any other
mapping failure, with the raw record for replay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from contract.issues import rejected_lines
from contract.linemap import failure_reason, locate
from contract.loaded import LoadedMapping

ISSUE_KEYS = ("record_id", "field", "line", "value", "reason", "severity", "action", "file", "part")
SKIP = "skip"

Line = dict[str, Any]


class RecordMapping(Protocol):
    """A loaded mapping: `map_record(record) -> (canonical records, issues)` and `to_product`."""

    def map_record(self, record: object) -> tuple[list[dict[str, Any]], list[Line]]: ...

    def to_product(self, canonical: dict[str, Any]) -> dict[str, Any]: ...


def ready_line(canonical: dict[str, Any], product: dict[str, Any], position: str) -> Line:
    """A product-ready page line: the loader sends `product`; `canonical` and `position` serve
    the reports (failed records, replay's raw copy, reconcile's loaded ids by `id`)."""
    return {
        "id": canonical.get("id"),
        "canonical": canonical,
        "product": product,
        "position": position,
    }


@dataclass(frozen=True)
class RecordOutcome:
    """What one ERP record became: canonical records, rejections or a skip, and its report lines."""

    record_id: str
    """The id the ERP record is known by ("" when it has none)."""
    ready: list[Line]
    """Its product-ready page lines (`ready_line`), one per canonical record that made a product."""
    rejections: list[Line]
    report: list[Line]
    skip: Line | None = None
    """The `skipped.ndjson` line when a `skip when` rule held (then nothing else is written)."""

    @property
    def canonical(self) -> list[dict[str, Any]]:
        """The canonical records of its page lines."""
        return [line["canonical"] for line in self.ready]

    @property
    def ids(self) -> list[str]:
        """Every id this record accounts for: its canonical records', rejected lines', its own."""
        found = [str(line["id"]) for line in self.ready if line.get("id") is not None]
        found += [str(line["id"]) for line in self.rejections if line.get("id") is not None]
        if self.record_id and self.record_id not in found:
            found.append(self.record_id)
        return found


@dataclass
class Tally:
    """Counts of the issues seen (errors by canonical field, "record" when none), and skips."""

    errors: int = 0
    warnings: int = 0
    skipped: int = 0
    by_field: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: RecordOutcome) -> None:
        """Count a record's issues, and the record when it was skipped."""
        self.skipped += outcome.skip is not None
        for line in outcome.report:
            if not _rejects(line):
                self.warnings += line.get("severity") == "warning"
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
    """One record through `mapping.map_record`; `position` says where the record was read.

    Rejections: the whole record when it gave no canonical record (or an
    issue rejects it whole), else one per rejected line (`part`). No record
    and no error is a skip (a `skip when` rule, or a record with no lines).
    """
    canonical: list[dict[str, Any]] = []
    if not isinstance(record, dict):
        issues = [_issue(None, None, None, "the extracted line is not a JSON object")]
    else:
        try:
            canonical, issues = mapping.map_record(record)
        except Exception as exc:
            canonical = []
            reason, line = describe_mapping_failure(mapping, exc)
            issues = [_issue(_raw_id(record), None, line, reason)]
    report = [
        {**{key: issue.get(key) for key in ISSUE_KEYS}, "position": position}
        for issue in issues
        if issue.get("action") != SKIP
    ]
    named = next(
        (i["record_id"] for i in issues if i.get("record_id") is not None and not i.get("part")),
        None,
    )
    errors = [issue for issue in report if _rejects(issue)]
    parts = [issue for issue in errors if issue.get("part") is not None]
    skip = next((issue for issue in issues if issue.get("action") == SKIP), None)
    if not canonical and (skip is not None or not errors):
        reason = "the mapping made no product record of it"
        return _skipped(record, skip or {"record_id": named, "reason": reason}, position)
    if canonical and len(errors) == len(parts):
        own = canonical[0].get("id") if len(canonical) == 1 and not parts else None
        own = own if own is not None else named if named is not None else _raw_id(record)
        rejections = _line_rejections(parts, record, position)
        ready, unready = _products(mapping, canonical, record, position)
        return RecordOutcome("" if own is None else str(own), ready, rejections + unready, report)
    own = named if named is not None else _raw_id(record)
    if len(errors) == len(parts):
        rejections = _line_rejections(parts, record, position)
    else:
        rejections = [_rejection(own, None, errors, record, position)]
    return RecordOutcome("" if own is None else str(own), [], rejections, report)


def _products(
    mapping: RecordMapping, canonical: list[dict[str, Any]], record: Any, position: str
) -> tuple[list[Line], list[Line]]:
    """Each canonical record through `to_product`: (ready page lines, rejections of those that raised)."""
    ready: list[Line] = []
    unready: list[Line] = []
    for item in canonical:
        try:
            ready.append(ready_line(item, mapping.to_product(item), position))
        except Exception as exc:
            reason, _ = describe_mapping_failure(mapping, exc)
            line: Line = {"id": item.get("id"), "stage": "mapping"}
            unready.append(
                {
                    **line,
                    "reason": f"to_product: {reason}",
                    "retryable": False,
                    "position": position,
                    "record": record,
                }
            )
    return ready, unready


def _rejects(issue: Line) -> bool:
    return issue.get("severity") not in ("warning", "info")


def _line_rejections(parts: list[Line], record: Any, position: str) -> list[Line]:
    """One `rejected.ndjson` line per rejected line of a one-to-many record, however many fields failed."""
    return [
        _rejection(line.record_id, line.part, line.issues, record, position)
        for line in rejected_lines(parts)
    ]


def _rejection(
    record_id: Any,
    part: int | None,
    issues: Iterable[Mapping[str, Any]],
    record: Any,
    position: str,
) -> Line:
    """A `rejected.ndjson` line: the whole record's, or one line's (`part`) of a one-to-many record."""
    reasons = [
        f"{issue['field']}: {issue.get('reason')}"
        if issue.get("field")
        else str(issue.get("reason"))
        for issue in issues
    ]
    reason = "; ".join(reasons) or "rejected by the mapping"
    line: Line = {"id": record_id, "stage": "mapping"}
    if part is not None:
        line["id"] = record_id if record_id is not None else f"{_raw_id(record)}#{part}"
        line["part"] = part
        reason = f"line {part} ({line['id']}): {reason}"
    return {**line, "reason": reason, "retryable": False, "position": position, "record": record}


def _skipped(record: Any, issue: Line, position: str) -> RecordOutcome:
    """A record a `skip when` rule left out: its `skipped.ndjson` line, no failure."""
    record_id = issue.get("record_id")
    if record_id is None:
        record_id = _raw_id(record)
    skip = {
        "id": record_id,
        "reason": issue.get("reason"),
        "file": issue.get("file"),
        "line": issue.get("line"),
        "position": position,
    }
    return RecordOutcome("" if record_id is None else str(record_id), [], [], [], skip)


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
