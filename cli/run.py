"""`siesa run show|failed|logs|retry RUN_ID`: open one run.

A run id alone finds the run when exactly one client has it (run ids carry
the start time to the millisecond and random digits, so that is nearly
always); `--client ID` picks one when several do, and reads only that
client's history. Exit codes: 0, or 1 when the run cannot be found; `retry
--wait` exits as `siesa sync --wait` does (0 success, 3 partial, 1 failed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Protocol, TypeVar

import typer
from rich.table import Table

from cli.common import EndpointUrl, JsonFlag, deployment_for, operator_errors, out
from cli.common import print_json as emit_json
from cli.sync import WaitFlag, follow, started_message
from ops.render import cell, styled_status
from ops.runs import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    FailedPage,
    RunLogs,
    RunView,
    failed_records,
    retry_run,
    run_logs,
    show_run,
)

run_app = typer.Typer(
    name="run",
    help="Open one run: its summary, failed records, log lines; retry it.",
    no_args_is_help=True,
)
RunId = Annotated[str, typer.Argument(help="The run id, e.g. 20250115T100000Z-3e81a7.")]
ClientOption = Annotated[
    str | None,
    typer.Option(
        "--client",
        help="The run's client (needed only when several have this run id).",
        show_default=False,
    ),
]


class _Shown(Protocol):
    def to_json(self) -> dict[str, Any]: ...


Shown = TypeVar("Shown", bound=_Shown)


def _opened(json_output: bool, read: Callable[[], Shown]) -> Shown | None:
    """What `read` found; None once it was printed as JSON (`--json`)."""
    with operator_errors():
        found = read()
    if json_output:
        emit_json(found.to_json())
        return None
    return found


def next_step(view: RunView) -> str | None:
    """The command that takes an operator on from this run."""
    run_id = view.run_id
    if view.status == "failed":
        return f"siesa run logs {run_id}  (why), then  siesa run retry {run_id}"
    if view.status == "partial":
        return f"siesa run failed {run_id}  (which records, and why)"
    if view.status == "running":
        return f"siesa status --client {view.client_id}"
    return None


def run_table(view: RunView) -> Table:
    """`siesa run show`: the run's facts, one per row."""
    shown = view.to_json()
    table = Table(title=f"Run {view.run_id} of {view.client_id}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("status", styled_status(view.status))
    table.add_row("sync type", cell(shown["sync_type"]))
    table.add_row("started", cell(shown["started_at"]))
    table.add_row("finished", cell(shown["finished_at"]))
    for name, value in shown["records"].items():
        table.add_row(f"records {name.replace('_', ' ')}", cell(value))
    table.add_row("bundle", cell(shown["bundle_sha256"]))
    watermark = shown["watermark"]
    table.add_row("watermark before", cell(watermark["before"] or "none (everything)"))
    after = cell(watermark["after"])
    table.add_row(
        "watermark after", f"{after} ({'stored' if watermark['moved'] else 'not stored'})"
    )
    if shown["error"]:
        table.add_row("error", f"[red]{cell(shown['error'])}[/]")
    if shown["failed_records_key"]:
        table.add_row("failed records", cell(shown["failed_records_key"]))
    return table


def stages_table(view: RunView) -> Table:
    """The run's stages with their times."""
    table = Table(title="Stages", title_justify="left")
    for column in ("stage", "started", "ended", "seconds", "outcome"):
        table.add_column(column)
    for stage in view.to_json()["stages"]:
        seconds = stage["seconds"]
        table.add_row(
            stage["stage"],
            cell(stage["started_at"]),
            cell(stage["ended_at"]),
            "-" if seconds is None else f"{seconds:.1f}",
            styled_status(stage["outcome"]) if stage["outcome"] == "failed" else stage["outcome"],
        )
    return table


@run_app.command("show")
def show_command(
    run_id: RunId,
    client: ClientOption = None,
    json_output: JsonFlag = False,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Summary, stages with times, bundle, and the watermark before and after."""
    view = _opened(
        json_output,
        lambda: show_run(run_id, client_id=client, deployment=deployment_for(endpoint_url)),
    )
    if view is None:
        return
    console = out()
    console.print(run_table(view))
    console.print(stages_table(view))
    step = next_step(view)
    if step:
        console.print(f"next step: {step}", highlight=False)


def failed_table(page: FailedPage) -> Table:
    """One page of failed records: id, stage, field, value, reason."""
    first = (page.page - 1) * page.page_size + 1
    last = first + len(page.records) - 1
    title = f"Failed records of run {page.run_id}: {first:,}-{last:,} of {page.total:,}"
    table = Table(title=title if page.records else f"No failed records on page {page.page}")
    for column in ("id", "stage", "field", "value", "reason"):
        table.add_column(column, no_wrap=column == "id")
    for record in page.records:
        for row in record.rows():
            record_id, stage, field, value, reason = row
            table.add_row(
                cell(record_id),
                stage,
                cell(field),
                cell(repr(value) if value is not None else None),
                cell(reason),
            )
    return table


@run_app.command("failed")
def failed_command(
    run_id: RunId,
    client: ClientOption = None,
    page: Annotated[int, typer.Option("--page", min=1, help="Which page, from 1.")] = 1,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=MAX_PAGE_SIZE, help="Records per page.")
    ] = DEFAULT_PAGE_SIZE,
    json_output: JsonFlag = False,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Every failed record with its id, stage, field, value and reason, a page at a time."""
    with operator_errors(client):
        found = failed_records(
            run_id,
            client_id=client,
            page=page,
            page_size=page_size,
            deployment=deployment_for(endpoint_url),
        )
    if json_output:
        emit_json(found.to_json())
        return
    console = out()
    console.print(failed_table(found))
    if found.page < found.pages:
        console.print(
            f"page {found.page} of {found.pages}; next: "
            f"siesa run failed {found.run_id} --page {found.page + 1}",
            highlight=False,
        )
    if found.total:
        console.print(
            f"next step: siesa replay --client {found.client_id} --run {found.run_id}",
            highlight=False,
        )


def print_logs(logs: RunLogs) -> None:
    """One line per log line: time, level, component, message, metadata."""
    console = out()
    if not logs.lines:
        where = ", ".join(logs.missing_groups)
        gone = f" (no log group {where} here)" if logs.missing_groups else ""
        console.print(f"no log lines of run {logs.run_id} found{gone}", highlight=False)
        return
    for line in logs.lines:
        extra = " ".join(f"{key}={value}" for key, value in line.metadata.items())
        style = {"ERROR": "red", "WARNING": "yellow"}.get(line.level, "")
        level = f"[{style}]{line.level:<7}[/]" if style else f"{line.level:<7}"
        console.print(
            f"{cell(line.timestamp)} {level} {line.component:<11} {cell(line.message)}"
            + (f"  {cell(extra)}" if extra else ""),
            highlight=False,
        )


@run_app.command("logs")
def logs_command(
    run_id: RunId,
    client: ClientOption = None,
    json_output: JsonFlag = False,
    endpoint_url: EndpointUrl = None,
) -> None:
    """The run's log lines (CloudWatch Logs on AWS, the local engine's log groups locally)."""
    logs = _opened(
        json_output,
        lambda: run_logs(run_id, client_id=client, deployment=deployment_for(endpoint_url)),
    )
    if logs is not None:
        print_logs(logs)


@run_app.command("retry")
def retry_command(
    run_id: RunId,
    client: ClientOption = None,
    wait: WaitFlag = False,
    json_output: JsonFlag = False,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Start a new run of the same client with the run's sync type."""
    deployment = deployment_for(endpoint_url)
    with operator_errors(client):
        started = retry_run(run_id, client_id=client, deployment=deployment)
    if not wait:
        started_message(started, json_output, retry_of=run_id)
        return
    follow(started, deployment, json_output)
