"""`siesa sim siesa|kong|wms`: run one simulator in the foreground until Ctrl-C.

`siesa sim siesa --dialect connekta` serves the ERP's Connekta dialect instead of REST.

Simulators bind 127.0.0.1 only: their /_sim/ endpoints are for local use.
"""

from __future__ import annotations

import signal
from typing import Annotated, Literal

import typer

from local.sim.catalog import generate_catalog
from local.sim.connekta import (
    DEFAULT_CONNI_KEY,
    DEFAULT_CONNI_TOKEN,
    DEFAULT_CUSTOM_QUERY,
    DEFAULT_ID_COMPANIA,
    DEFAULT_STANDARD_QUERY,
    ConnektaSim,
)
from local.sim.kong import DEFAULT_KONG_API_KEY, KongSim
from local.sim.server import SimServer
from local.sim.siesa import DEFAULT_RATE_LIMIT, DEFAULT_SIESA_API_KEY, SiesaSim
from local.sim.wms import DEFAULT_WMS_API_KEY, WmsSim

sim_app = typer.Typer(
    name="sim",
    help="Run a local simulator of Siesa, Kong or WMS on loopback (for tests and demos).",
    no_args_is_help=True,
)

Port = Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")]
AccessLog = Annotated[bool, typer.Option(help="Print one line per request.")]


def _serve(server: SimServer, api_hint: str) -> None:
    # Ctrl-C stops a simulator even when it was started with SIGINT ignored (a child
    # inherits that disposition, and Python then installs no handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    typer.echo(f"ready: {server.url}")
    typer.echo(f"api: {server.url}{api_hint}  (Ctrl-C to stop)")
    server.serve_forever()
    typer.echo("stopped")


@sim_app.command("siesa")
def siesa(
    port: Port = 0,
    products: Annotated[int, typer.Option(help="Items in the generated catalog.")] = 1000,
    seed: Annotated[
        int, typer.Option(help="Catalog seed: the same seed gives the same items.")
    ] = 1,
    client: Annotated[
        str, typer.Option(help="Client id the catalog is generated for.")
    ] = "cliente-a",
    api_key: Annotated[str, typer.Option(help="Bearer token to accept.")] = DEFAULT_SIESA_API_KEY,
    rate_limit: Annotated[
        int, typer.Option(help="Requests per minute per key.")
    ] = DEFAULT_RATE_LIMIT,
    access_log: AccessLog = False,
    dialect: Annotated[
        Literal["rest", "connekta"], typer.Option(help="The API dialect the ERP speaks.")
    ] = "rest",
    companies: Annotated[
        int, typer.Option(help="Connekta: ERP companies in the tenant (codes 1..N).")
    ] = 2,
    id_compania: Annotated[
        int, typer.Option(help="Connekta: the tenant id (idCompania) to accept.")
    ] = DEFAULT_ID_COMPANIA,
    conni_key: Annotated[str, typer.Option(help="Connekta: ConniKey to accept.")] = (
        DEFAULT_CONNI_KEY
    ),
    conni_token: Annotated[str, typer.Option(help="Connekta: ConniToken to accept.")] = (
        DEFAULT_CONNI_TOKEN
    ),
) -> None:
    """The Siesa ERP over a seeded catalog, REST or Connekta dialect."""
    if dialect == "connekta":
        if companies < 1:
            raise typer.BadParameter("at least one company", param_hint="--companies")
        catalogs = {
            code: generate_catalog(products, seed + code - 1, client=f"{client}-cia{code}")
            for code in range(1, companies + 1)
        }
        connekta = ConnektaSim(
            catalogs,
            id_compania=id_compania,
            credentials={
                DEFAULT_STANDARD_QUERY: (conni_key, conni_token),
                DEFAULT_CUSTOM_QUERY: (conni_key, conni_token),
            },
        )
        server = SimServer(connekta.wsgi_app, port=port, access_log=access_log)
        _serve(
            server,
            f"  idCompania {id_compania}, companies 1..{companies}; queries "
            f"{DEFAULT_STANDARD_QUERY} (standard) and {DEFAULT_CUSTOM_QUERY} (custom)",
        )
        return
    sim = SiesaSim(
        generate_catalog(products, seed, client=client), api_keys=api_key, rate_limit=rate_limit
    )
    _serve(SimServer(sim.wsgi_app, port=port, access_log=access_log), "/api/v1")


@sim_app.command("kong")
def kong(
    port: Port = 0,
    api_key: Annotated[str, typer.Option(help="X-API-Key to accept.")] = DEFAULT_KONG_API_KEY,
    tenant: Annotated[str, typer.Option(help="Tenant the key reaches.")] = "default",
    access_log: AccessLog = False,
) -> None:
    """Kong, the RFID backend's product API."""
    sim = KongSim(api_keys=api_key, tenant=tenant)
    _serve(SimServer(sim.wsgi_app, port=port, access_log=access_log), "/api/v1")


@sim_app.command("wms")
def wms(
    port: Port = 0,
    api_key: Annotated[str, typer.Option(help="Bearer token to accept.")] = DEFAULT_WMS_API_KEY,
    tenant: Annotated[str, typer.Option(help="Tenant the key reaches.")] = "default",
    access_log: AccessLog = False,
) -> None:
    """The WMS inventory and warehouse services under one base URL."""
    sim = WmsSim(api_keys=api_key, tenant=tenant)
    _serve(SimServer(sim.combined_app, port=port, access_log=access_log), "/api/v1")
