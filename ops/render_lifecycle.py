"""How `siesa client check|remove|add --dry-run` and `sync --dry-run` show themselves (rich)."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from ops.clients import AddPlan
from ops.connection_check import CheckReport
from ops.sync import SyncPlan


def _cell(value: Any) -> str:
    text = "-" if value is None else str(value)
    return text.replace("[", r"\[")


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "[yellow]?[/]"
    return "[green]yes[/]" if value else "[red]no[/]"


def check_table(report: CheckReport) -> Table:
    """`siesa client check ID`: one row per system (service), each probe's answer."""
    table = Table(title=f"Connections of {report.client_id}", title_justify="left")
    for column in ("system", "url", "reachable", "authenticated", "latency", "detail"):
        table.add_column(column)
    for probe in report.probes:
        table.add_row(
            probe.system,
            _cell(probe.url),
            _yes_no(probe.reachable),
            _yes_no(probe.authenticated),
            "-" if probe.latency_ms is None else f"{probe.latency_ms} ms",
            "[green]ok[/]" if probe.ok else f"[red]{_cell(probe.detail)}[/]",
        )
    return table


def _plan_table(title: str) -> Table:
    """A two-column table of what a dry run would do."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    return table


def add_plan_table(plan: AddPlan) -> Table:
    """`siesa client add --dry-run`: the item, the secrets by name, the rules."""
    shown = plan.to_json()
    table = _plan_table(f"Would add client {plan.client_id} (dry run: nothing written)")
    for key, value in shown["item"].items():
        table.add_row(f"item {key}", _cell(json.dumps(value) if isinstance(value, dict) else value))
    for secret in shown["secrets"]:
        table.add_row(
            "secret", f"{_cell(secret['name'])} (encrypted with {_cell(secret['kms_key_id'])})"
        )
    for rule in shown["rules"]:
        table.add_row(
            "rule",
            f"{_cell(rule['rule_name'])} {_cell(rule['schedule'])} {rule['state']} "
            f"input {_cell(json.dumps(rule['input']))}",
        )
    return table


def sync_plan_table(plan: SyncPlan) -> Table:
    """`siesa sync --dry-run`: the execution it would start and what the run would read."""
    shown = plan.to_json()
    table = _plan_table(f"Would start a {plan.sync_type} sync of {plan.config.client_id} (dry run)")
    table.add_row("state machine", _cell(shown["state_machine_arn"]))
    table.add_row("execution name", _cell(shown["execution_name"]))
    table.add_row("execution input", _cell(json.dumps(shown["execution_input"])))
    reads = shown["reads"]
    table.add_row("reads Siesa", f"{_cell(reads['siesa_api_url'])} ({reads['siesa_dialect']})")
    table.add_row("changed since", _cell(reads["modified_since"] or "everything"))
    table.add_row("reads secrets", _cell(", ".join(reads["secrets"])))
    table.add_row("mapping", _cell(reads["mapping"]))
    table.add_row("loads into", _cell(shown["writes_to"]["product_api_url"]))
    return table
