"""`siesa status [--client ID]`: the last sync of each client and its run history."""

from __future__ import annotations

from typing import Annotated

import typer

import ops
from cli.common import EndpointUrl, JsonFlag, deployment_for, err, operator_errors, out
from cli.common import print_json as emit_json
from ops.render import history_table, print_invalid, status_table

RUNS_PER_CLIENT_IN_OVERVIEW = 3


def status_command(
    client: Annotated[
        str | None,
        typer.Option(
            "--client", help="Only this client, with its longer history.", show_default=False
        ),
    ] = None,
    history: Annotated[int, typer.Option(min=1, max=100, help="Runs to read per client.")] = 10,
    json_output: JsonFlag = False,
    endpoint_url: EndpointUrl = None,
) -> None:
    """Last sync per client (status, time, records, failures) and run history."""
    with operator_errors(client):
        report = ops.status(client, history=history, deployment=deployment_for(endpoint_url))
    if json_output:
        emit_json(report.to_json())
        return
    console = out()
    if not report.clients:
        console.print("no clients yet; add one with `siesa client add`")
    else:
        console.print(status_table(report))
        per_client = history if client else RUNS_PER_CLIENT_IN_OVERVIEW
        console.print(history_table(report.clients, per_client))
    print_invalid(err(), report.invalid)
