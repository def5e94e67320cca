"""How `siesa map preview` shows what a changed mapping would do, in a terminal (rich)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from contract import jsontext
from ops.preview import PreviewReport
from ops.preview_diff import ABSENT, KINDS, FieldChange, Kind

SHOWN_RECORDS = 20
TITLES: dict[Kind, str] = {
    "newly_rejected": "Newly rejected",
    "newly_accepted": "Newly accepted",
    "newly_skipped": "Newly skipped",
    "no_longer_skipped": "No longer skipped",
    "no_longer_produced": "No longer produced",
}


def shown_value(value: Any) -> str:
    """A field's value as JSON (`"7701234567890"`, `null`), or `(absent)`."""
    return "(absent)" if value is ABSENT else jsontext.dumps(value)


def field_line(change: FieldChange) -> str:
    """`barcode: 312 records, e.g. PROD000017 "7701234567890" → null` (plain text)."""
    examples = ", ".join(
        f"{e.record_id} {shown_value(e.before)} → {shown_value(e.after)}" for e in change.examples
    )
    noun = "record" if change.count == 1 else "records"
    return f"{change.name}: {change.count:,} {noun}" + (f", e.g. {examples}" if examples else "")


def summary_table(report: PreviewReport) -> Table:
    """The counts: ERP records read, product records unchanged and changed, moves and skips."""
    result = report.comparison
    table = Table(
        title=f"Preview of {report.file} on run {report.run_id} of {report.client_id}",
        title_justify="left",
        show_header=False,
    )
    table.add_column("what", style="bold")
    table.add_column("records", justify="right")
    rows: list[tuple[str, int]] = [
        ("ERP records", result.erp_records),
        ("product records unchanged", result.unchanged),
        ("product records changed", result.changed),
        ("still rejected", result.still_rejected),
        ("still skipped", result.still_skipped),
    ]
    rows += [(TITLES[kind].lower(), len(result.of_kind(kind))) for kind in KINDS]
    for label, count in rows:
        table.add_row(label, f"{count:,}")
    return table


def fields_table(report: PreviewReport) -> Table | None:
    """Per product field, how many records change, with examples; None when none does."""
    changes = list(report.comparison.fields.values())
    if not changes:
        return None
    table = Table(title="Changed product fields", title_justify="left")
    table.add_column("field", no_wrap=True)
    table.add_column("records", justify="right")
    table.add_column("e.g. (id before → after)")
    for change in changes:
        examples = "\n".join(
            f"{e.record_id} {shown_value(e.before)} → {shown_value(e.after)}"
            for e in change.examples
        )
        table.add_row(escape(change.name), f"{change.count:,}", escape(examples))
    return table


def moved_table(report: PreviewReport, kind: Kind, limit: int = SHOWN_RECORDS) -> Table | None:
    """Records of one kind of move (newly rejected, ...) with what they were and are; None if none."""
    moved = report.comparison.of_kind(kind)
    if not moved:
        return None
    more = f" (first {limit} of {len(moved):,})" if len(moved) > limit else ""
    table = Table(title=f"{TITLES[kind]}{more}", title_justify="left")
    for column in ("record", "was", "now"):
        table.add_column(column, no_wrap=column == "record")
    for item in moved[:limit]:
        table.add_row(escape(item.record_id), escape(item.was), escape(item.now))
    return table


def preview_tables(report: PreviewReport) -> list[Table]:
    """Every table of a preview, in reading order (empty ones left out)."""
    tables = [summary_table(report), fields_table(report)]
    tables += [moved_table(report, kind) for kind in KINDS]
    return [table for table in tables if table is not None]
