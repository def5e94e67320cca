"""`siesa client add|list|show|enable|disable|check|set-credentials|set-schedule|remove`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

import ops
from cli.common import (
    EndpointUrl,
    JsonFlag,
    deployment_for,
    err,
    fail,
    operator_errors,
    out,
    print_json,
    read_text,
)
from ops.client_changes import DEFAULT_RECOVERY_DAYS, System
from ops.connection_check import ConnectionCheckFailed, check_new_client_connections
from ops.render import client_detail, client_table, print_invalid
from ops.render_lifecycle import add_plan_table, check_table

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
    no_check: Annotated[
        bool,
        typer.Option("--no-check", help="Do not call both APIs with the credentials first."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check everything and say what would be written; write nothing."
        ),
    ] = False,
) -> None:
    """Validate, check both APIs' connections, then write both secrets, the item and the rules."""
    with operator_errors():
        documents = (
            read_text(config, "client config"),
            read_text(siesa_credentials, "Siesa credentials"),
            read_text(product_credentials, "product credentials"),
        )
    deployment = deployment_for(endpoint_url)
    check = None if no_check else _checked_before_writing
    if dry_run:
        with operator_errors(), _check_shown():
            plan = ops.plan_add_client(*documents, deployment=deployment)
            if check is not None:
                check(plan.new)
        if json_output:
            print_json(plan.to_json())
        else:
            out().print(add_plan_table(plan))
        return
    with operator_errors(), _check_shown():
        view = ops.add_client(*documents, deployment=deployment, check=check)
    if json_output:
        print_json(view.to_json())
        return
    schedule = view.schedule
    rule = f"{schedule.rule_name} ({schedule.expression})" if schedule else "no rule"
    if view.stock_schedule is not None:
        stock = view.stock_schedule
        rule += f", stock-only {stock.rule_name} ({stock.expression})"
    out().print(
        f"added client [bold]{view.client_id}[/] ({view.config.product_type}): "
        f"secrets {view.config.siesa_credentials_secret} and "
        f"{view.config.product_credentials_secret}, schedule {rule}",
        highlight=False,
    )
    out().print(
        f"try it: siesa sync --client {view.client_id} --sync-type initial --wait", highlight=False
    )


def _checked_before_writing(new: ops.NewClient) -> None:
    """`client add`'s connection check, said on stderr as it runs."""
    err().print(f"checking the connections of {new.config.client_id} ...", highlight=False)
    check_new_client_connections(new)


@contextmanager
def _check_shown() -> Iterator[None]:
    """A failed connection check shows its table on stderr before the one-line error."""
    try:
        yield
    except ConnectionCheckFailed as exc:
        err().print(check_table(exc.report))
        raise


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
    with operator_errors(client_id):
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
    with operator_errors(client_id):
        view = ops.enable_client(client_id, deployment=deployment_for(endpoint_url))
    _report_switch(view, "enabled")


@client_app.command("disable")
def disable(client_id: ClientId, endpoint_url: EndpointUrl = None) -> None:
    """Disable the client and its schedule rule (a sync already running finishes)."""
    with operator_errors(client_id):
        view = ops.disable_client(client_id, deployment=deployment_for(endpoint_url))
    _report_switch(view, "disabled")


@client_app.command("check")
def check(
    client_id: ClientId, endpoint_url: EndpointUrl = None, json_output: JsonFlag = False
) -> None:
    """Call both APIs with the stored credentials: reachable, authenticated, latency (exit 0/1)."""
    with operator_errors(client_id):
        report = ops.check_client(client_id, deployment=deployment_for(endpoint_url))
    if json_output:
        print_json(report.to_json())
    else:
        out().print(check_table(report))
        if not report.ok:
            raise fail(
                f"{report.failures()}; fix with `siesa client set-credentials` if a key is wrong"
            )
    raise typer.Exit(0 if report.ok else 1)


@client_app.command("set-credentials")
def set_credentials(
    client_id: ClientId,
    siesa: Annotated[
        Path | None,
        typer.Option("--siesa", help="New Siesa credentials as JSON.", show_default=False),
    ] = None,
    product: Annotated[
        Path | None,
        typer.Option("--product", help="New Kong or WMS credentials as JSON.", show_default=False),
    ] = None,
    endpoint_url: EndpointUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Validate and write new credentials; the next run reads them (no cache delay)."""
    if (siesa is None) == (product is None):
        raise fail("give exactly one of --siesa FILE or --product FILE")
    system: System
    with operator_errors(client_id):
        if siesa is not None:
            system, text = "siesa", read_text(siesa, "Siesa credentials")
        elif product is not None:
            system, text = "product", read_text(product, "product credentials")
        change = ops.set_credentials(
            client_id, system, text, deployment=deployment_for(endpoint_url)
        )
    if json_output:
        print_json(change.to_json())
        return
    out().print(
        f"wrote {change.secret_name}; the next run of {change.client_id} reads it "
        f"(credentials version {change.credentials_version})",
        highlight=False,
    )
    out().print(f"check it: siesa client check {change.client_id}", highlight=False)


@client_app.command("set-schedule")
def set_schedule(
    client_id: ClientId,
    expression: Annotated[
        str,
        typer.Argument(
            help="An EventBridge schedule: rate(6 hours), cron(0 */6 * * ? *); with --stock, "
            "`off` removes the stock-only schedule.",
            show_default=False,
        ),
    ],
    stock: Annotated[
        bool, typer.Option("--stock", help="The stock-only schedule, not the main one.")
    ] = False,
    endpoint_url: EndpointUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Change the client's main (or stock-only) schedule and its EventBridge rule."""
    with operator_errors(client_id):
        view = ops.set_schedule(
            client_id, expression, stock=stock, deployment=deployment_for(endpoint_url)
        )
    if json_output:
        print_json(view.to_json())
        return
    rule = view.stock_schedule if stock else view.schedule
    if rule is None:
        out().print(f"removed the stock-only schedule of {view.client_id}", highlight=False)
    else:
        state = "ENABLED" if rule.enabled else "DISABLED"
        out().print(
            f"{rule.rule_name}: {rule.expression} ({state})",
            highlight=False,
        )


DEFAULT_WORD = "default"


def _limit(
    value: str | None, convert: type[int] | type[Decimal], option: str
) -> int | Decimal | None:
    """A limit option's value: a number, or `default` to go back to the field's default."""
    if value is None or value == DEFAULT_WORD:
        return None
    try:
        return convert(value)
    except (ValueError, ArithmeticError):
        raise typer.BadParameter(
            f"{value!r} is not a number (or `default`)", param_hint=option
        ) from None


@client_app.command("set-limits")
def set_limits(
    client_id: ClientId,
    siesa_requests_per_minute: Annotated[
        str | None,
        typer.Option("--siesa-requests-per-minute", help="ERP requests per minute (or `default`)."),
    ] = None,
    product_requests_per_minute: Annotated[
        str | None,
        typer.Option(
            "--product-requests-per-minute",
            help="Product requests per minute (`default`: no cap; a 429 still pauses the client).",
        ),
    ] = None,
    product_concurrency: Annotated[
        str | None,
        typer.Option("--product-concurrency", help="Product requests at once (or `default`)."),
    ] = None,
    failed_records_alert_percent: Annotated[
        str | None,
        typer.Option(
            "--failed-records-alert-percent",
            help="Alert when a run's failed records exceed this share (or `default`).",
        ),
    ] = None,
    endpoint_url: EndpointUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Change the client's request budgets, concurrency or alert threshold; the next run reads them."""
    given = {
        "siesa_requests_per_minute": (siesa_requests_per_minute, int),
        "product_requests_per_minute": (product_requests_per_minute, int),
        "product_concurrency": (product_concurrency, int),
        "failed_records_alert_percent": (failed_records_alert_percent, Decimal),
    }
    limits = {
        name: _limit(value, convert, "--" + name.replace("_", "-"))
        for name, (value, convert) in given.items()
        if value is not None
    }
    with operator_errors(client_id):
        view = ops.set_limits(client_id, limits, deployment=deployment_for(endpoint_url))
    if json_output:
        print_json(view.to_json())
        return
    config = view.config
    for name in limits:
        shown = getattr(config, name)
        out().print(f"{name}: {'no cap' if shown is None else shown}", highlight=False)
    out().print(f"the next run of {config.client_id} reads them", highlight=False)


@client_app.command("remove")
def remove(
    client_id: ClientId,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask for confirmation (scripts).")
    ] = False,
    recovery_days: Annotated[
        int,
        typer.Option(
            "--recovery-days", help="Days the secrets stay restorable (7-30).", min=7, max=30
        ),
    ] = DEFAULT_RECOVERY_DAYS,
    endpoint_url: EndpointUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Delete the client's rules, its secrets (restorable for a while) and its item."""
    deployment = deployment_for(endpoint_url)
    with operator_errors(client_id):
        plan = ops.removal_plan(client_id, deployment=deployment)
    if not yes:
        err().print(_removal_text(plan, recovery_days, "would delete"), highlight=False)
        if not typer.confirm(f"remove client {plan.client_id}?", default=False, err=True):
            raise fail("not removed", 1)
    with operator_errors(client_id):
        removed = ops.remove_client(
            plan.client_id, recovery_days=recovery_days, deployment=deployment
        )
    if json_output:
        print_json(removed.to_json())
        return
    out().print(_removal_text(removed, recovery_days, "removed"), highlight=False)


def _removal_text(plan: ops.Removal, recovery_days: int, verb: str) -> str:
    parts = [f"rule {name}" for name in plan.rules]
    parts += [f"secret {name} (restorable for {recovery_days} days)" for name in plan.secrets]
    if plan.item:
        parts.append("the client item")
    return f"{verb} for {plan.client_id}: " + ", ".join(parts) + "; its run data expires by itself"
