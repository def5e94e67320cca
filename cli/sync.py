"""`siesa sync --client ID`: start a client's sync, and with --wait follow it to its summary.

Exit codes with --wait: 0 success, 3 partial (some records failed; they are
reported), 1 failed or refused (another run of the client is running: the
error names its run id; one run per client at a time). With --json, stdout
holds exactly one JSON object.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

import ops
from cli.common import EndpointUrl, JsonFlag, deployment_for, err, escape, operator_errors, out
from cli.common import print_json as emit_json
from ops.progress import SyncBars
from ops.render import failed_records_table, outcome_table
from ops.render_lifecycle import sync_plan_table

WaitFlag = Annotated[bool, typer.Option("--wait", help="Follow the sync and print its summary.")]


class SyncTypeName(StrEnum):
    """What to sync: everything, what changed since the last finished run, or stock only."""

    initial = "initial"
    incremental = "incremental"
    stock = "stock"


def sync_command(
    client: Annotated[
        str, typer.Option("--client", help="The client to sync.", show_default=False)
    ],
    sync_type: Annotated[
        SyncTypeName,
        typer.Option(
            "--sync-type", help="initial: everything; incremental: changes; stock: quantities only."
        ),
    ] = SyncTypeName.incremental,
    wait: WaitFlag = False,
    json_output: JsonFlag = False,
    endpoint_url: EndpointUrl = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check the client and print the execution input; start nothing."
        ),
    ] = False,
) -> None:
    """Start a client's sync through the workflow (exit 0 success, 3 partial, 1 failed)."""
    deployment = deployment_for(endpoint_url)
    if dry_run:
        with operator_errors(client):
            plan = ops.plan_sync(client, sync_type.value, deployment=deployment)
        if json_output:
            emit_json(plan.to_json())
        else:
            out().print(sync_plan_table(plan))
        return
    with operator_errors(client):
        started = ops.start_sync(client, sync_type.value, deployment=deployment)
    if not wait:
        started_message(started, json_output)
        return
    follow(started, deployment, json_output)


def follow(started: ops.StartedSync, deployment: ops.Deployment, json_output: bool) -> None:
    """Follow a started sync with progress bars, print its summary, exit with its code."""
    with operator_errors():
        try:
            with SyncBars(err()) as bars:
                bars.add(started.client_id)
                outcome = ops.wait(started, bars.update, deployment=deployment)
                bars.finish(outcome)
        except KeyboardInterrupt:
            err().print(
                f"stopped following; the sync goes on (execution {started.execution_arn}); "
                f"see `siesa status --client {started.client_id}`",
                highlight=False,
            )
            raise typer.Exit(130) from None
    if json_output:
        emit_json(outcome.to_json())
    else:
        console = out()
        console.print(outcome_table(outcome))
        failed = failed_records_table(outcome)
        if failed is not None:
            console.print(failed)
        if outcome.next_step:
            console.print(f"next step: {escape(outcome.next_step)}", highlight=False)
    raise typer.Exit(outcome.exit_code)


def started_message(
    started: ops.StartedSync, json_output: bool, *, retry_of: str | None = None
) -> None:
    """What a started sync prints when it is not followed (`retry_of`: the run it retries)."""
    if json_output:
        document = {
            "client_id": started.client_id,
            "run_id": started.run_id,
            "sync_type": started.sync_type,
            "status": "running",
            "execution_arn": started.execution_arn,
        }
        if retry_of is not None:
            document["retry_of"] = retry_of
        emit_json(document)
        return
    again = f" (retrying run {retry_of})" if retry_of else ""
    out().print(
        f"started the {started.sync_type} sync of {started.client_id}{again}: run {started.run_id}\n"
        f"execution {started.execution_arn}\n"
        f"follow it with: siesa status --client {started.client_id}",
        highlight=False,
    )
