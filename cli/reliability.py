"""`siesa reconcile` and `siesa replay`: for operators after an incident.

`siesa reconcile --client ID [--json] [--page-size N]` lists every record of
the client's ERP that is neither in its product as the mapping says nor
reported by a run, and every record the product holds that no ERP record
maps to (orphans) or holds twice, read through the product's listing (exit 1
when there is any such difference), and ends with the command that repairs
what it found (`next step: ...`). `siesa replay --client ID
--run RUN_ID [--copy auto|run|erp] [--json]` sends a run's failed records
again through the current mapping, says which copy it sent (the run's
extracted copy, or the ERP's current one read by paging its listing) and
what now passes (exit 0 all pass, 3 some still fail), with a progress bar
on stderr. Both print one JSON object on stdout with --json.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from cli.common import EndpointUrl, JsonFlag, deployment_for, err, escape, operator_errors, out
from cli.common import print_json as emit_json
from ops.advice import after_replay
from ops.progress import ReplayBar
from ops.reconcile import KINDS, MAX_PAGE_SIZE, ReconcileReport, reconcile
from ops.replay import ReplayReport, replay

SHOWN_DIFFERENCES = 50
ClientOption = Annotated[
    str, typer.Option("--client", help="The client to check.", show_default=False)
]


def _escaped(text: object) -> str:
    return str(text).replace("[", r"\[")


def reconcile_table(report: ReconcileReport) -> Table:
    """The counts of a reconciliation."""
    table = Table(title=f"Reconciliation of {report.client_id}", title_justify="left")
    columns = ("in scope", "loaded", "reported", "lost", "duplicates", "orphans", "pending")
    for column in (*columns, "skipped", "left scope"):
        table.add_column(column, justify="right")
    table.add_row(
        *(
            f"{value:,}"
            for value in (
                report.in_scope,
                report.loaded,
                report.reported,
                report.lost,
                report.duplicates,
                report.orphans,
                report.pending,
                report.skipped,
                len(report.left_scope),
            )
        )
    )
    return table


def holding_lines(report: ReconcileReport) -> list[str]:
    """What the product's listing showed: its records, orphans and records held twice, by example."""
    if not report.listing_checked:
        return []
    lines = [
        f"the product holds {report.product_records or 0:,} records (read through its listing)"
    ]
    for label, kind, count in (
        ("orphans (no ERP record maps to them)", "orphan", report.orphans),
        ("held twice", "held_twice", report.held_twice),
    ):
        examples = report.examples(kind)
        shown = f": {', '.join(_escaped(example) for example in examples)}" if examples else ""
        more = " ..." if count > len(examples) else ""
        lines.append(f"{label}: {count:,}{shown}{more}")
    return lines


def _listing(title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> Table | None:
    """A titled table of rows; None when there are none."""
    if not rows:
        return None
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def left_scope_table(report: ReconcileReport, limit: int = SHOWN_DIFFERENCES) -> Table | None:
    """The records that left the client's scope and what became of them; None when none did."""
    rows = [
        (
            _escaped(line.get("id")),
            _escaped(line.get("why", "-")),
            _escaped(line.get("outcome", "-")) + (" (pending)" if line.get("pending") else ""),
            str(line.get("run_id", "-")),
        )
        for line in report.left_scope[:limit]
    ]
    title = "Left the client's scope (not differences)"
    return _listing(title, ("record", "why", "outcome", "run"), rows)


def differences_table(report: ReconcileReport, limit: int = SHOWN_DIFFERENCES) -> Table | None:
    """The differences, most telling first; None when there are none."""
    rows = [
        (
            difference.kind,
            _escaped(difference.record_id),
            _escaped(difference.detail),
            difference.run_id or "-",
        )
        for difference in report.differences[:limit]
    ]
    return _listing("Differences", ("kind", "record", "what", "run"), rows)


def reconcile_command(
    client: ClientOption,
    json_output: JsonFlag = False,
    endpoint_url: EndpointUrl = None,
    page_size: Annotated[
        int,
        typer.Option(
            "--page-size",
            min=1,
            max=MAX_PAGE_SIZE,
            help="Records per page of the product's listing.",
        ),
    ] = MAX_PAGE_SIZE,
) -> None:
    """Compare a client's ERP with its product and its runs' reports; exit 1 on any difference."""
    with operator_errors(client):
        report = reconcile(client, deployment=deployment_for(endpoint_url), page_size=page_size)
    if json_output:
        emit_json(report.to_json())
    else:
        console = out()
        console.print(reconcile_table(report))
        for line in holding_lines(report):
            console.print(line, highlight=False)
        left = left_scope_table(report)
        if left is not None:
            console.print(left)
        table = differences_table(report)
        if table is None:
            console.print(
                f"no differences: every record the watermark "
                f"({report.watermark or 'none yet'}, ERP local time) "
                "has passed is in the product as the mapping says, or reported by a run"
            )
        else:
            console.print(table)
            if len(report.differences) > SHOWN_DIFFERENCES:
                console.print(f"... and {len(report.differences) - SHOWN_DIFFERENCES:,} more")
            kinds = sorted({difference.kind for difference in report.differences})
            for kind in kinds:
                console.print(f"{kind}: {KINDS[kind]}", highlight=False)
        for note in report.notes:
            err().print(f"note: {_escaped(note)}", highlight=False)
        for step in report.next_steps:
            console.print(f"next step: {_escaped(step)}", highlight=False)
    raise typer.Exit(0 if report.ok else 1)


def replay_table(report: ReplayReport) -> Table:
    """Each replayed record and what happened to it."""
    table = Table(
        title=f"Replay of run {report.run_id} of {report.client_id}: "
        f"{report.passed} of {len(report.records)} now pass",
        title_justify="left",
    )
    for column in ("record", "was", "now", "detail", "copy"):
        table.add_column(column)
    for record in report.records:
        table.add_row(
            _escaped(record.record_id),
            _escaped(record.was),
            record.outcome,
            _escaped(record.detail),
            record.copy,
        )
    return table


class CopyName(StrEnum):
    """Which copy of each failed record replay sends."""

    auto = "auto"
    run = "run"
    erp = "erp"


def replay_command(
    client: ClientOption,
    run: Annotated[str, typer.Option("--run", help="The run whose failed records to send again.")],
    copy: Annotated[
        CopyName,
        typer.Option(
            "--copy",
            help="run: what the run extracted; erp: the ERP's current copy (after an ERP fix), "
            "read by paging its listing; auto: run while its pages exist, else erp.",
        ),
    ] = CopyName.auto,
    json_output: JsonFlag = False,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Send a run's failed records again through the current mapping (exit 0 all pass, 3 not)."""
    with operator_errors(client), ReplayBar(err()) as bar:
        report = replay(
            client,
            run,
            copy=copy.value,
            deployment=deployment_for(endpoint_url),
            on_progress=bar.update,
        )
    failing = len(report.records) - report.count("superseded") - report.passed
    step = after_replay(report.client_id, report.run_id, failing) if report.exit_code else None
    if json_output:
        emit_json({**report.to_json(), "next_step": step})
    else:
        out().print(replay_table(report))
        out().print(f"copy used: {report.copy_text}", highlight=False)
        err().print(f"stored at {report.report_key}", highlight=False)
        if step:
            out().print(f"next step: {escape(step)}", highlight=False)
    raise typer.Exit(report.exit_code)


def mount(app: typer.Typer) -> None:
    """Add `reconcile` and `replay` to the `siesa` app."""
    app.command("reconcile")(reconcile_command)
    app.command("replay")(replay_command)
