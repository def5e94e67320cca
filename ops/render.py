"""How the operator commands show clients, syncs and status in a terminal (rich)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from contract.versions import short
from ops import ClientList, ClientStatus, ClientView, StatusReport, SyncOutcome
from ops.run_counts import records_loaded

STATUS_STYLES = {"success": "green", "partial": "yellow", "failed": "red", "running": "cyan"}
FIELD_LABELS = {"last_sync_watermark": "last_sync_watermark (ERP local time)"}
"""Fields shown under a longer name: the watermark is the ERP's local time, not a platform time."""


def styled_status(value: str | None) -> str:
    """A sync status in its colour ("-" when there is none)."""
    if not value:
        return "-"
    return f"[{STATUS_STYLES.get(value, 'white')}]{value}[/]"


def _text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("[", r"\[")


def cell(value: Any) -> str:
    """A value as a table cell: "-" for none, yes/no, thousands separators, [brackets] escaped."""
    return _text(value)


def _json_text(value: Any) -> str:
    """A structured value as the JSON an operator would write, not a Python repr."""
    if value is None:
        return "-"
    return _text(json.dumps(value, ensure_ascii=False, sort_keys=True))


def client_table(listing: ClientList) -> Table:
    """`siesa client list`."""
    table = Table(title="Clients", title_justify="left")
    for column in (
        "client",
        "name",
        "product",
        "enabled",
        "schedule",
        "rule",
        "stock schedule",
        "last sync",
    ):
        table.add_column(column)
    for view in listing.clients:
        config = view.config
        rule = (
            "missing"
            if view.schedule is None
            else ("ENABLED" if view.schedule.enabled else "DISABLED")
        )
        table.add_row(
            config.client_id,
            _text(config.client_name),
            config.product_type,
            _text(config.enabled),
            config.sync_schedule,
            rule if rule != "missing" else "[red]missing[/]",
            _stock_cell(view),
            f"{styled_status(config.last_sync_status)} {_text(config.last_sync_timestamp)}",
        )
    return table


def _stock_cell(view: ClientView) -> str:
    """The stock-only schedule and its rule's state ("-" when the client has none)."""
    expression = view.config.stock_schedule
    if expression is None:
        return "-"
    rule = view.stock_schedule
    if rule is None:
        return f"{expression} [red]rule missing[/]"
    return f"{expression} {'ENABLED' if rule.enabled else 'DISABLED'}"


def print_invalid(console: Console, invalid: Iterable[Any]) -> None:
    """Items of the clients table that do not validate: listed, never hidden."""
    for item in invalid:
        console.print(
            f"[yellow]warning:[/] client {_text(item.client_id)} is not valid: {_text(item.reason)}"
        )


def client_detail(view: ClientView) -> Table:
    """`siesa client show ID`: every field, the rule and the secrets (by name only)."""
    table = Table(title=f"Client {view.client_id}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    shown = view.to_json()
    for key, value in shown.items():
        if key in ("schedule", "secrets", "stock_rule"):
            continue
        shown_value = styled_status(value) if key == "last_sync_status" else _text(value)
        table.add_row(FIELD_LABELS.get(key, key), shown_value)
    schedule = view.schedule
    if schedule is None:
        table.add_row("schedule rule", "[red]missing[/]: runs only when started by hand")
    else:
        state = "ENABLED" if schedule.enabled else "DISABLED"
        table.add_row("schedule rule", f"{schedule.rule_name} ({state})")
        table.add_row("rule schedule", _text(schedule.expression))
        table.add_row("rule target", _text(schedule.target_arn))
        table.add_row("rule role", _text(schedule.role_arn))
        table.add_row("rule input", _json_text(schedule.input))
    if view.config.stock_schedule is not None:
        table.add_row("stock rule", _stock_cell(view))
        if view.stock_schedule is not None:
            table.add_row("stock rule name", _text(view.stock_schedule.rule_name))
            table.add_row("stock rule input", _json_text(view.stock_schedule.input))
    for info in view.secrets:
        state = f"present, changed {info.last_changed}" if info.exists else "[red]missing[/]"
        table.add_row("secret", f"{info.name}: {state}")
    return table


def outcome_table(outcome: SyncOutcome) -> Table:
    """The loader summary of one sync."""
    summary = outcome.summary or {}
    table = Table(title=f"Sync of {outcome.client_id}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("status", styled_status(outcome.status))
    table.add_row("run", _text(outcome.run_id))
    table.add_row("sync type", _text(summary.get("sync_type") or outcome.sync_type))
    table.add_row("records extracted", _text(outcome.records_extracted))
    table.add_row("records processed", _text(summary.get("records_processed")))
    table.add_row("records loaded", _text(outcome.records_loaded))
    table.add_row("records failed", _text(summary.get("records_failed")))
    table.add_row("records skipped", _text(summary.get("records_skipped", 0)))
    left = summary.get("left_scope") or {}
    failed = f", {left['failed']} failed" if left.get("failed") else ""
    table.add_row(
        "left scope",
        f"{_text(summary.get('records_left_scope', 0))} ({_text(left.get('choice'))}{failed})",
    )
    seconds = outcome.duration_seconds
    table.add_row("duration", f"{seconds:.1f} s" if seconds is not None else "-")
    if outcome.error:
        table.add_row("error", f"[red]{_text(outcome.error)}[/]")
        table.add_row("cause", _text(outcome.cause))
    if summary.get("failed_records_key"):
        every = f"siesa run failed {outcome.run_id}" if outcome.run_id else ""
        table.add_row("failed records", f"{every} ({_text(summary['failed_records_key'])})")
    return table


def failed_records_table(outcome: SyncOutcome, limit: int = 10) -> Table | None:
    """The first failed records of a sync with their stage and reason."""
    failed = (outcome.summary or {}).get("failed_records") or []
    if not failed:
        return None
    table = Table(title=f"Failed records (first {min(limit, len(failed))})", title_justify="left")
    for column in ("id", "stage", "reason"):
        table.add_column(column)
    for record in failed[:limit]:
        table.add_row(
            _text(record.get("id")), _text(record.get("stage")), _text(record.get("error"))
        )
    return table


def status_table(report: StatusReport) -> Table:
    """The last sync of each client; stock-only syncs in columns of their own."""
    table = Table(title="Last sync per client", title_justify="left")
    columns = ("client", "product", "enabled", "status", "time", "loaded", "failures", "bundle")
    stock = any(entry.last_stock_sync is not None for entry in report.clients)
    for column in columns + (("stock sync", "stock time", "stock changed") if stock else ()):
        table.add_column(column)
    for entry in report.clients:
        config = entry.config
        pin = " (pinned)" if config.bundle_pin else ""
        last = entry.last_sync
        row = [
            config.client_id,
            config.product_type,
            _text(config.enabled),
            styled_status(last["status"]),
            _text(last["timestamp"]),
            _text(last["records"]),
            _text(entry.last_failures),
            short(entry.last_bundle) + pin,
        ]
        if stock:
            stock_sync = entry.last_stock_sync or {}
            row += [
                styled_status(stock_sync.get("status")),
                _text(stock_sync.get("timestamp")),
                _text(stock_sync.get("records_changed")),
            ]
        table.add_row(*row)
    return table


def history_table(entries: Iterable[ClientStatus], per_client: int) -> Table:
    """Recent runs, newest first, at most `per_client` per client."""
    table = Table(title="Run history", title_justify="left")
    columns = (
        "client",
        "run",
        "type",
        "status",
        "started",
        "processed",
        "loaded",
        "failed",
        "skipped",
        "bundle",
    )
    for column in (*columns, "error"):
        table.add_column(column, no_wrap=column in ("client", "run"))
    for entry in entries:
        for run in entry.runs[:per_client]:
            table.add_row(
                entry.config.client_id,
                _text(run.get("run_id")),
                _text(run.get("sync_type")),
                styled_status(run.get("status")),
                _text(run.get("started_at")),
                _text(run.get("records_processed")),
                _text(records_loaded(run)),
                _text(run.get("records_failed")),
                _text(run.get("records_skipped", run.get("skipped_count"))),
                short(run.get("bundle_sha256")),
                _text(run.get("error") or run.get("last_error")),
            )
    return table
