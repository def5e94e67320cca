"""`siesa map history | promote | pin | unpin`: which mapping bundle version each client runs.

Operator actions with the operator's (the deploy role's) credentials
(ops/mapping_versions.py). Mounted on `siesa map` by cli/app.py.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.common import EndpointUrl, JsonFlag, deployment_for, operator_errors, out, print_json
from contract.versions import short
from ops import mapping_versions
from ops.mapping_versions import VersionHistory

Version = Annotated[
    str, typer.Argument(help="A bundle version: its SHA-256, or a unique prefix (6+ digits).")
]
ClientId = Annotated[str, typer.Argument(help="The client's id.")]


def history_table(found: VersionHistory) -> Table:
    """Versions, newest first: the current one marked, who uses which."""
    table = Table(title="Mapping bundle versions", title_justify="left")
    for column in ("", "version", "uploaded", "pinned by", "used by"):
        table.add_column(column)
    for version in found.versions:
        table.add_row(
            "*" if version.current else "",
            short(version.sha256),
            version.uploaded_at,
            ", ".join(version.pinned_by) or "-",
            ", ".join(version.used_by) or "-",
        )
    return table


def history_command(json_output: JsonFlag = False, endpoint_url: EndpointUrl = None) -> None:
    """Every bundle version in the config bucket: date, SHA-256, which clients use which (* current)."""
    with operator_errors():
        found = mapping_versions.history(deployment=deployment_for(endpoint_url))
    if json_output:
        print_json(found.to_json())
        return
    console = out()
    if not found.versions:
        console.print("no bundle versions yet; `siesa deploy` uploads one")
        return
    console.print(history_table(found))
    since = f" since {found.made_current_at}" if found.made_current_at else ""
    console.print(f"current: {short(found.current)}{since} (unpinned clients use it)")


def promote_command(version: Version, endpoint_url: EndpointUrl = None) -> None:
    """Make a version current: unpinned clients use it from their next run (going back: promote the previous one)."""
    with operator_errors():
        done = mapping_versions.promote(version, deployment=deployment_for(endpoint_url))
    if not done.changed:
        out().print(f"{short(done.version)} is already the current version")
        return
    out().print(f"current version: {short(done.version)} (was {short(done.previous)})")


def pin_command(client: ClientId, version: Version, endpoint_url: EndpointUrl = None) -> None:
    """Pin a client to a version: its runs use it whatever is current."""
    with operator_errors():
        config = mapping_versions.pin(client, version, deployment=deployment_for(endpoint_url))
    out().print(f"{config.client_id} is pinned to {short(config.bundle_pin)}")


def unpin_command(client: ClientId, endpoint_url: EndpointUrl = None) -> None:
    """Let a client's runs use the current version again."""
    with operator_errors():
        config = mapping_versions.unpin(client, deployment=deployment_for(endpoint_url))
    out().print(f"{config.client_id} uses the current version")


def mount(map_app: typer.Typer) -> None:
    """Add the version commands to `siesa map`."""
    map_app.command("history")(history_command)
    map_app.command("promote")(promote_command)
    map_app.command("pin")(pin_command)
    map_app.command("unpin")(unpin_command)
