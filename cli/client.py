"""`siesa client add|list|show|enable|disable`: register and manage clients."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import ops
from cli.common import (
    EndpointUrl,
    JsonFlag,
    deployment_for,
    err,
    operator_errors,
    out,
    print_json,
    read_text,
)
from ops.render import client_detail, client_table, print_invalid

client_app = typer.Typer(
    name="client",
    help="Register clients and manage them (config, credentials, schedule rule).",
    no_args_is_help=True,
)

ClientId = Annotated[
    str, typer.Argument(help="The client's id, e.g. cliente-a.", show_default=False)
]


@client_app.callback()
def _group() -> None:
    """Register clients and manage them (config, credentials, schedule rule)."""


@client_app.command("add")
def add(
    config: Annotated[
        Path,
        typer.Option("--config", help="The client config (clients-table item) as JSON."),
    ],
    siesa_credentials: Annotated[
        Path,
        typer.Option("--siesa-credentials", help="The Siesa credentials as JSON."),
    ],
    product_credentials: Annotated[
        Path,
        typer.Option("--product-credentials", help="The Kong or WMS credentials as JSON."),
    ],
    endpoint_url: EndpointUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Validate everything, then write both secrets, the client item and its schedule rule."""
    with operator_errors():
        view = ops.add_client(
            read_text(config, "client config"),
            read_text(siesa_credentials, "Siesa credentials"),
            read_text(product_credentials, "product credentials"),
            deployment=deployment_for(endpoint_url),
        )
    if json_output:
        print_json(view.to_json())
        return
    schedule = view.schedule
    rule = f"{schedule.rule_name} ({schedule.expression})" if schedule else "no rule"
    out().print(
        f"added client [bold]{view.client_id}[/] ({view.config.product_type}): "
        f"secrets {view.config.siesa_credentials_secret} and "
        f"{view.config.product_credentials_secret}, schedule {rule}",
        highlight=False,
    )
    out().print(
        f"try it: siesa sync --client {view.client_id} --sync-type initial --wait", highlight=False
    )


@client_app.command("list")
def list_(endpoint_url: EndpointUrl = None, json_output: JsonFlag = False) -> None:
    """Every client, its schedule rule and its last sync."""
    with operator_errors():
        listing = ops.list_clients(deployment=deployment_for(endpoint_url))
    if json_output:
        print_json(listing.to_json())
        return
    if listing.clients:
        out().print(client_table(listing))
    else:
        out().print("no clients yet; add one with `siesa client add`")
    print_invalid(err(), listing.invalid)


@client_app.command("show")
def show(
    client_id: ClientId, endpoint_url: EndpointUrl = None, json_output: JsonFlag = False
) -> None:
    """One client: config, schedule rule, and whether its secrets exist (never their values)."""
    with operator_errors():
        view = ops.show_client(client_id, deployment=deployment_for(endpoint_url))
    if json_output:
        print_json(view.to_json())
    else:
        out().print(client_detail(view))


def _report_switch(view: ops.ClientView, word: str) -> None:
    out().print(f"{word} client [bold]{view.client_id}[/]", highlight=False)
    if view.schedule is None:
        err().print(
            f"[yellow]warning:[/] {view.client_id} has no schedule rule "
            f"({ops.rule_name(view.client_id)}); it syncs only when started by hand",
            highlight=False,
        )


@client_app.command("enable")
def enable(client_id: ClientId, endpoint_url: EndpointUrl = None) -> None:
    """Enable the client and its schedule rule."""
    with operator_errors():
        view = ops.enable_client(client_id, deployment=deployment_for(endpoint_url))
    _report_switch(view, "enabled")


@client_app.command("disable")
def disable(client_id: ClientId, endpoint_url: EndpointUrl = None) -> None:
    """Disable the client and its schedule rule (a sync already running finishes)."""
    with operator_errors():
        view = ops.disable_client(client_id, deployment=deployment_for(endpoint_url))
    _report_switch(view, "disabled")
