"""The measure of "nothing lost": each ERP record is in the product as the mapping says, or reported.

Pure: the ERP's records, the current compiled mapping, the runs' verdicts and
a way to read the product come in; a report of differences comes out.

Scope: the records the client's watermark has passed (changed before it).
Each must be, exactly once, either in the product with the values the
mapping gives now (then it counts as loaded, whatever a later run that
stopped before re-sending it reported), or else in the failed-records
report of the newest finished run (`success`, `partial`) that handled it,
with its reason. A run that failed delivered nothing reconciliation can
count on: a record only it reported is missing (lost until a run delivers
it), and the difference names that run, whose replay repairs it. Records changed at or after the watermark are
pending: the next incremental run takes them.

Differences (`KINDS`): `missing` (neither loaded nor reported),
`loaded_but_absent` (a run counted it as loaded, the product lacks it),
`unreported_reject` (the mapping rejects it, no run reported that),
`wrong_values` (the product holds other values than the mapping gives),
`duplicate` (two ERP records become one product record, or a run counted
one record twice), and, from the product's whole holding (its listing, when
the product has one): `held_twice` (the product holds one record more than
once) and `orphan` (the product holds a record no ERP record of the client
maps to).

Not differences: a record the mapping skips (`skip when`) is counted as
`skipped`; a record that left the client's scope (runtime/scope.py) is
listed in `left_scope` with what became of it, and a product record that
left scope is not an `orphan`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contract.issues import rejected_lines
from contract.linemap import failure_reason, locate
from contract.loaded import LoadedMapping
from ops.run_evidence import RunEvidence, latest_verdict

KINDS: dict[str, str] = {
    "missing": "neither in the product nor reported by a run",
    "loaded_but_absent": "counted as loaded by a run, but the product lacks it",
    "unreported_reject": "rejected by the mapping, but no run reported it",
    "wrong_values": "the product holds other values than the mapping gives",
    "duplicate": "two ERP records become one product record, or a run counted one twice",
    "held_twice": "held by the product more than once",
    "orphan": "held by the product, but no ERP record of the client maps to it",
}
LOST_KINDS = ("missing", "loaded_but_absent", "unreported_reject")
"""Differences that mean a record neither reached the product nor was reported."""
DUPLICATE_KINDS = ("duplicate", "held_twice")
"""Differences that mean a record was counted or held more than once."""
EXAMPLES = 5
"""Record ids a report shows of each kind the product's holding is checked for."""

ProductReader = Callable[[str], "dict[str, Any] | None"]


@dataclass(frozen=True)
class ErpRecord:
    """One ERP record as the client's Siesa source reads it."""

    key: str
    modified: str
    record: dict[str, Any]


@dataclass(frozen=True)
class Difference:
    """One record that breaks "exactly once, loaded or reported"."""

    kind: str
    record_id: str
    detail: str
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "kind": self.kind,
            "record_id": self.record_id,
            "detail": self.detail,
            "run_id": self.run_id,
        }


@dataclass
class ReconcileReport:
    """How one client's product compares with its ERP and its runs' reports."""

    client_id: str
    product_type: str
    mapping: str
    mapping_sha256: str | None
    watermark: str | None
    erp_records: int = 0
    in_scope: int = 0
    loaded: int = 0
    reported: int = 0
    pending: int = 0
    skipped: int = 0
    left_scope: list[dict[str, Any]] = field(default_factory=list)
    """Records that left the client's scope: id, why, choice, outcome (newest run's word)."""
    runs_read: list[str] = field(default_factory=list)
    unfinished_runs: list[str] = field(default_factory=list)
    """Runs read that ended without finishing (failed, or still running): their reports count not."""
    listing_checked: bool = False
    product_records: int | None = None
    """Records the product's listing served (a record held twice counts twice); None unlisted."""
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    """What repairs the differences, the command first (ops/repair.py)."""

    def count(self, *kinds: str) -> int:
        """Differences of these kinds."""
        return sum(1 for difference in self.differences if difference.kind in kinds)

    @property
    def lost(self) -> int:
        """Records in scope that neither reached the product nor were reported."""
        return self.count(*LOST_KINDS)

    @property
    def duplicates(self) -> int:
        """Records counted or held more than once."""
        return self.count(*DUPLICATE_KINDS)

    @property
    def orphans(self) -> int:
        """Records the product holds that no ERP record of the client maps to."""
        return self.count("orphan")

    @property
    def held_twice(self) -> int:
        """Records the product holds more than once."""
        return self.count("held_twice")

    def examples(self, kind: str, limit: int = EXAMPLES) -> list[str]:
        """The first `limit` record ids of a kind of difference."""
        found = (difference.record_id for difference in self.differences if difference.kind == kind)
        return [record_id for record_id, _ in zip(found, range(limit), strict=False)]

    @property
    def ok(self) -> bool:
        """No difference at all."""
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "client_id": self.client_id,
            "product_type": self.product_type,
            "mapping": self.mapping,
            "mapping_sha256": self.mapping_sha256,
            "watermark": self.watermark,
            "ok": self.ok,
            "erp_records": self.erp_records,
            "in_scope": self.in_scope,
            "loaded": self.loaded,
            "reported": self.reported,
            "pending": self.pending,
            "skipped": self.skipped,
            "left_scope": list(self.left_scope),
            "lost": self.lost,
            "duplicates": self.duplicates,
            "listing_checked": self.listing_checked,
            "product_records": self.product_records,
            "orphans": {"count": self.orphans, "examples": self.examples("orphan")},
            "held_twice": {"count": self.held_twice, "examples": self.examples("held_twice")},
            "runs_read": list(self.runs_read),
            "unfinished_runs": list(self.unfinished_runs),
            "differences": [difference.to_json() for difference in self.differences],
            "notes": list(self.notes),
            "next_steps": list(self.next_steps),
        }


@dataclass(frozen=True)
class _Mapped:
    """An ERP record through the current mapping."""

    erp: ErpRecord
    canonical_id: str | None
    product_id: str | None
    product: dict[str, Any] | None
    reasons: str
    skipped: bool = False


def map_record(mapping: LoadedMapping, id_field: str, erp: ErpRecord) -> list[_Mapped]:
    """What the current mapping makes of the record: a product record per line, or why not.

    A one-to-one record gives one item; a one-to-many record one item per
    line, a rejected line one item however many of its fields failed (with
    the line's id as its canonical id, so the run's report of that line is
    found, and reasons that name the line as the run's report does). As in
    the transformer, a record that gives no product record and no error is
    skipped (a `skip when` rule, or no lines), and an error that belongs to
    no line rejects the whole record: one item without a product record.
    """
    try:
        canonicals, issues = mapping.map_record(dict(erp.record))
        products = [mapping.to_product(canonical) for canonical in canonicals]
    except Exception as exc:  # a mapping that raises rejects the record, as in the transformer
        return [_Mapped(erp, None, None, None, failure_reason(exc, locate(exc, mapping)))]
    errors = [issue for issue in issues if issue.get("severity") == "error"]
    skips = any(issue.get("action") == "skip" for issue in issues)
    if not canonicals and (skips or not errors):
        return [_Mapped(erp, None, None, None, "skipped by the mapping", skipped=True)]
    if any(issue.get("part") is None for issue in errors):
        reasons = "; ".join(_reason(issue) for issue in errors)
        return [_Mapped(erp, None, None, None, reasons)]
    items = [
        _Mapped(erp, _plain_id(canonical.get("id")), _plain_id(product.get(id_field)), product, "")
        for canonical, product in zip(canonicals, products, strict=True)
    ]
    for line in rejected_lines(errors):
        line_id = _plain_id(line.record_id)
        where = f"line {line.part} ({line_id})" if line_id else f"line {line.part}"
        reasons = "; ".join(_reason(issue) for issue in line.issues)
        items.append(_Mapped(erp, line_id, None, None, f"{where}: {reasons}"))
    return items


def _reason(issue: Mapping[str, Any]) -> str:
    """An issue as a reject reason: `field: reason`, or the reason alone."""
    name = issue.get("field")
    return f"{name}: {issue.get('reason')}" if name else str(issue.get("reason"))


def _plain_id(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value)
    return text if text.strip() else None


def differing_fields(held: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Fields whose held value is not the mapping's; a nested object left out counts as `{}`."""
    names = dict.fromkeys(
        [*wanted, *(name for name, value in held.items() if isinstance(value, dict))]
    )
    differing = []
    for name in names:
        have, want = held.get(name), wanted.get(name)
        if isinstance(have, dict) or isinstance(want, dict):
            have, want = have or {}, want or {}
        if have != want:
            differing.append(name)
    return differing


def compare(
    *,
    report: ReconcileReport,
    mapping: LoadedMapping,
    id_field: str,
    erp: Sequence[ErpRecord],
    scope_before: str | None,
    runs: Sequence[RunEvidence],
    read_product: ProductReader,
    listing: Sequence[Mapping[str, Any]] | None = None,
) -> ReconcileReport:
    """Fill `report` with counts and differences; `scope_before` is the watermark in ERP local time.

    `listing` is the product's whole holding (every record its listing served,
    a record held twice twice), or None when the product has no listing.
    """
    report.erp_records = len(erp)
    report.runs_read = [evidence.run_id for evidence in runs]
    report.unfinished_runs = [evidence.run_id for evidence in runs if not evidence.finished]
    mapped = [item for record in erp for item in map_record(mapping, id_field, record)]
    by_product_id: dict[str, list[str]] = defaultdict(list)
    for item in mapped:
        if item.product_id is not None:
            by_product_id[item.product_id].append(item.erp.key)
    for product_id, keys in sorted(by_product_id.items()):
        if len(keys) > 1:
            report.differences.append(
                Difference(
                    "duplicate",
                    product_id,
                    f"ERP records {', '.join(sorted(keys))} all become product record {product_id}",
                )
            )
    for evidence in runs:
        for record_id in sorted(set(evidence.repeated)):
            report.differences.append(
                Difference(
                    "duplicate",
                    record_id,
                    f"run {evidence.run_id} counted this record more than once",
                    evidence.run_id,
                )
            )
    in_scope = [
        item for item in mapped if scope_before is not None and item.erp.modified < scope_before
    ]
    report.pending = len(mapped) - len(in_scope)
    report.in_scope = len(in_scope)
    for item in in_scope:
        _judge(report, item, runs, read_product)
    if listing is not None:
        report.listing_checked = True
        report.product_records = len(listing)
        _check_listing(
            report, mapped, [_plain_id(record.get(id_field)) or "" for record in listing]
        )
    return report


def _judge(
    report: ReconcileReport, item: _Mapped, runs: Sequence[RunEvidence], read: ProductReader
) -> None:
    """One record in scope: in the product as the mapping says, or reported; else a difference.

    The product's content comes first: a record it holds as the mapping says
    is loaded, whatever a newer run that stopped before re-sending it reported.
    """
    key = item.erp.key
    if item.skipped:
        report.skipped += 1
        return
    held = read(item.product_id) if item.product is not None and item.product_id else None
    differing = differing_fields(held, item.product) if held is not None and item.product else []
    if held is not None and not differing:
        report.loaded += 1
        return
    names = [item.canonical_id or "", key, item.product_id or ""]
    verdict = latest_verdict([run for run in runs if run.finished], names)
    if verdict is not None and verdict.outcome == "reported":
        report.reported += 1
        return
    run_id = verdict.run_id if verdict is not None else None
    undelivered = _undelivered_by(runs, names, after=run_id)
    if item.product is None or item.product_id is None:
        where = f"run {run_id} counted it as loaded" if run_id else "no run reported it"
        report.differences.append(
            Difference(
                "unreported_reject",
                key,
                f"the mapping rejects it ({item.reasons}), but {where}{_failed_words(undelivered)}",
                undelivered or run_id,
            )
        )
        return
    if held is None:
        kind = "loaded_but_absent" if run_id else "missing"
        detail = (
            f"run {run_id} counted it as loaded, but the product has no {item.product_id}"
            if run_id
            else f"the product has no {item.product_id} and no run reported it"
        )
        report.differences.append(
            Difference(kind, key, detail + _failed_words(undelivered), undelivered or run_id)
        )
        return
    report.differences.append(
        Difference(
            "wrong_values",
            key,
            f"the product's {item.product_id} differs from the mapping in " + ", ".join(differing),
            run_id,
        )
    )


def _undelivered_by(
    runs: Sequence[RunEvidence], names: Sequence[str], after: str | None
) -> str | None:
    """The newest run that ended without finishing and named the record, newer than `after`."""
    for evidence in reversed(runs):
        if after is not None and evidence.run_id <= after:
            return None
        if not evidence.finished and any(evidence.verdict(name) for name in names if name):
            return evidence.run_id
    return None


def _failed_words(run_id: str | None) -> str:
    """What a run that ended without finishing said of the record: nothing reconcile believes."""
    if run_id is None:
        return ""
    return f" (run {run_id} did not finish: its report does not count as delivered)"


def _check_listing(report: ReconcileReport, mapped: Sequence[_Mapped], held: Sequence[str]) -> None:
    """Records held twice, and records no ERP record of the client maps to (`held`: listed ids)."""
    known = {item.product_id for item in mapped if item.product_id is not None}
    known |= {item.erp.key for item in mapped}
    known |= {str(line.get("id")) for line in report.left_scope}
    by_plain: dict[str, list[str]] = defaultdict(list)
    for held_id in held:
        by_plain[held_id.strip()].append(held_id)
    for plain, held_ids in sorted(by_plain.items()):
        if len(held_ids) > 1:
            spelt = sorted(set(held_ids))
            shown = (
                f" (as {', '.join(repr(held_id) for held_id in spelt)})" if len(spelt) > 1 else ""
            )
            report.differences.append(
                Difference(
                    "held_twice", plain, f"the product holds it {len(held_ids)} times{shown}"
                )
            )
    for held_id in sorted(set(held)):
        if held_id not in known and held_id.strip() not in known:
            report.differences.append(
                Difference(
                    "orphan",
                    held_id,
                    "the product holds it, but no ERP record of this client maps to it",
                )
            )
