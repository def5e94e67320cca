"""`siesa sim siesa|kong|wms`: run one simulator in the foreground until Ctrl-C.

`siesa sim siesa --dialect connekta` serves the ERP's Connekta dialect instead of REST.
Every simulator takes the fault settings `--fail-rate`, `--latency-ms`,
`--status-on PATH=CODE` (repeatable) and `--down-after N` (local/sim/faults.py;
they can be changed later with POST /_sim/faults). The ERP's catalog holds 2%
invalid records (docs/operations.md says which); `--clean` serves one without.
Ctrl-C stops a simulator cleanly, however busy it is.

Simulators bind 127.0.0.1 only: their /_sim/ endpoints are for local use.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import typer

from local.sim.catalog import CATALOG_START, DEFAULT_INVALID_SHARE, generate_catalog
from local.sim.connekta import (
    DEFAULT_CONNI_KEY,
    DEFAULT_CONNI_TOKEN,
    DEFAULT_CUSTOM_QUERY,
    DEFAULT_ID_COMPANIA,
    DEFAULT_STANDARD_QUERY,
    ConnektaSim,
)
from local.sim.faults import FaultInjector
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
FailRate = Annotated[
    float,
    typer.Option(min=0.0, max=1.0, help="Share of requests answered 503 (0..1, seeded)."),
]
LatencyMs = Annotated[int, typer.Option(min=0, help="Delay added to every request, in ms.")]
StatusOn = Annotated[
    list[str] | None,
    typer.Option(
        help="PATH=CODE: requests to PATH (or under it, when PATH ends in /) answer CODE "
        "(400-599); repeatable.",
        show_default=False,
    ),
]
DownAfter = Annotated[
    int | None,
    typer.Option(min=0, help="Answer 503 to every request after the first N.", show_default=False),
]


@dataclass(frozen=True)
class FaultOptions:
    """The fault settings of the command line, as `FaultPlan` knobs."""

    fail_rate: float = 0.0
    latency_ms: int = 0
    status_on: tuple[str, ...] = ()
    down_after: int | None = None

    def knobs(self) -> dict[str, Any]:
        """The knobs these settings set (none when all are left at their defaults)."""
        knobs: dict[str, Any] = {}
        if self.fail_rate:
            knobs["error_503_rate"] = self.fail_rate
        if self.latency_ms:
            knobs["latency_ms"] = self.latency_ms
        if self.status_on:
            knobs["status_on"] = parse_status_on(self.status_on)
        if self.down_after is not None:
            knobs["down_after"] = self.down_after
        return knobs

    def apply(self, injectors: Iterable[FaultInjector]) -> None:
        """Set the knobs on every injector of a simulator (WMS has one per service)."""
        knobs = self.knobs()
        if knobs:
            for injector in injectors:
                injector.set(**knobs)


def parse_status_on(values: Iterable[str]) -> dict[str, int]:
    """`PATH=CODE` settings as a path → status map; BadParameter naming a bad one."""
    parsed: dict[str, int] = {}
    for value in values:
        path, _, code = value.partition("=")
        if not path.startswith("/") or not code.isdigit() or not 400 <= int(code) <= 599:
            raise typer.BadParameter(
                f"{value!r} is not PATH=CODE with PATH starting with / and CODE 400-599",
                param_hint="--status-on",
            )
        parsed[path] = int(code)
    return parsed


def _faults(
    fail_rate: float, latency_ms: int, status_on: list[str] | None, down_after: int | None
) -> FaultOptions:
    return FaultOptions(fail_rate, latency_ms, tuple(status_on or ()), down_after)


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
    clean: Annotated[
        bool, typer.Option(help="Serve a catalog without invalid records (default: 2% invalid).")
    ] = False,
    catalog_start: Annotated[
        datetime | None,
        typer.Option(
            help="When the first record was modified (ERP local time; default "
            f"{CATALOG_START:%Y-%m-%d %H:%M}). "
            "Records follow up to an hour apart, so a large catalog's last ones are in the "
            "future unless it starts early enough."
        ),
    ] = None,
    fail_rate: FailRate = 0.0,
    latency_ms: LatencyMs = 0,
    status_on: StatusOn = None,
    down_after: DownAfter = None,
) -> None:
    """The Siesa ERP over a seeded catalog, REST or Connekta dialect."""
    faults = _faults(fail_rate, latency_ms, status_on, down_after)
    invalid_share = 0.0 if clean else DEFAULT_INVALID_SHARE
    start = catalog_start or CATALOG_START
    if dialect == "connekta":
        if companies < 1:
            raise typer.BadParameter("at least one company", param_hint="--companies")
        catalogs = {
            code: generate_catalog(
                products,
                seed + code - 1,
                client=f"{client}-cia{code}",
                invalid_share=invalid_share,
                start=start,
            )
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
        faults.apply([connekta.faults])
        server = SimServer(connekta.wsgi_app, port=port, access_log=access_log)
        _serve(
            server,
            f"  idCompania {id_compania}, companies 1..{companies}; queries "
            f"{DEFAULT_STANDARD_QUERY} (standard) and {DEFAULT_CUSTOM_QUERY} (custom)",
        )
        return
    sim = SiesaSim(
        generate_catalog(products, seed, client=client, invalid_share=invalid_share, start=start),
        api_keys=api_key,
        rate_limit=rate_limit,
    )
    faults.apply([sim.faults])
    _serve(SimServer(sim.wsgi_app, port=port, access_log=access_log), "/api/v1")


@sim_app.command("kong")
def kong(
    port: Port = 0,
    api_key: Annotated[str, typer.Option(help="X-API-Key to accept.")] = DEFAULT_KONG_API_KEY,
    tenant: Annotated[str, typer.Option(help="Tenant the key reaches.")] = "default",
    access_log: AccessLog = False,
    fail_rate: FailRate = 0.0,
    latency_ms: LatencyMs = 0,
    status_on: StatusOn = None,
    down_after: DownAfter = None,
) -> None:
    """Kong, the RFID backend's product API."""
    faults = _faults(fail_rate, latency_ms, status_on, down_after)
    sim = KongSim(api_keys=api_key, tenant=tenant)
    faults.apply([sim.faults])
    _serve(SimServer(sim.wsgi_app, port=port, access_log=access_log), "/api/v1")


@sim_app.command("wms")
def wms(
    port: Port = 0,
    api_key: Annotated[str, typer.Option(help="Bearer token to accept.")] = DEFAULT_WMS_API_KEY,
    tenant: Annotated[str, typer.Option(help="Tenant the key reaches.")] = "default",
    access_log: AccessLog = False,
    fail_rate: FailRate = 0.0,
    latency_ms: LatencyMs = 0,
    status_on: StatusOn = None,
    down_after: DownAfter = None,
) -> None:
    """The WMS inventory and warehouse services under one base URL."""
    faults = _faults(fail_rate, latency_ms, status_on, down_after)
    sim = WmsSim(api_keys=api_key, tenant=tenant)
    faults.apply(sim.faults.values())
    _serve(SimServer(sim.combined_app, port=port, access_log=access_log), "/api/v1")
