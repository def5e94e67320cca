"""`siesa demo` (what `make demo` runs): the whole workflow on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import fail
from local.demo import DEFAULT_CHANGES, DEFAULT_PRODUCTS, run_demo
from local.embedded_aws import LocalAwsError
from local.provision import ProvisionError
from ops.deploy.infra import InfraError


def demo_command(
    products: Annotated[
        int, typer.Option(min=10, max=100_000, help="Products in each client's ERP.")
    ] = DEFAULT_PRODUCTS,
    changes: Annotated[
        int,
        typer.Option(
            min=1, max=1000, help="Records changed in each ERP before the incremental sync."
        ),
    ] = DEFAULT_CHANGES,
) -> None:
    """Embedded AWS, simulated Siesa, Kong and WMS, six clients: initial and incremental syncs, checked."""
    try:
        result = run_demo(products, changes=changes)
    except (LocalAwsError, ProvisionError, InfraError) as exc:
        raise fail(f"the embedded AWS could not start: {exc}") from None
    raise typer.Exit(result.exit_code)
