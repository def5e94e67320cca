"""`siesa client check`: can the client's credentials reach and open both of its APIs right now?

One cheap read per system (the ERP's first record; the product's listing, and
for a WMS one read at each service), one attempt each with no retry, so a
wrong key or a host that is down shows in seconds, not after a sync's retries.
Each probe says whether the host answered (reachable), whether it took the
credentials (authenticated: not a 401/403) and how long it took. Errors are
the runtime's own (their text is scrubbed of secret values); nothing is
written anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx

from ops.clients import get_config
from ops.credentials import product_credentials, siesa_credentials
from ops.deployment import Deployment, resolve, translate_aws_errors
from ops.errors import OpsError
from ops.validation import NewClient
from runtime.adapters.registry import get_adapter_class
from runtime.config import ClientConfig, ProductCredentials, SiesaCredentials
from runtime.errors import AuthenticationError, IntegrationError
from runtime.http import make_http_client
from runtime.http.retry import status_of
from runtime.siesa import make_source

PROBE_TIMEOUT_SECONDS = 10.0
"""How long one probe may take: a check is a quick look, not a sync."""


@dataclass(frozen=True)
class Probe:
    """One read of one system: reachable, authenticated, how long, and what went wrong."""

    system: str
    url: str
    reachable: bool
    authenticated: bool | None
    latency_ms: int | None
    detail: str = "ok"

    @property
    def ok(self) -> bool:
        """The host answered and took the credentials."""
        return self.reachable and self.authenticated is True and self.detail == "ok"

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "system": self.system,
            "url": self.url,
            "ok": self.ok,
            "reachable": self.reachable,
            "authenticated": self.authenticated,
            "latency_ms": self.latency_ms,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class CheckReport:
    """Every probe of one client."""

    client_id: str
    probes: list[Probe] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every system answered and took its credentials."""
        return bool(self.probes) and all(probe.ok for probe in self.probes)

    def failures(self) -> str:
        """`system: detail` for each probe that failed, for a one-line error."""
        return "; ".join(f"{p.system}: {p.detail}" for p in self.probes if not p.ok)

    def to_json(self) -> dict[str, Any]:
        """Plain values for `--json`."""
        return {
            "client_id": self.client_id,
            "ok": self.ok,
            "systems": [probe.to_json() for probe in self.probes],
        }


class ConnectionCheckFailed(OpsError):
    """`client add` refused a client whose connections do not work; carries the report."""

    def __init__(self, report: CheckReport) -> None:
        super().__init__(
            f"connection check of {report.client_id} failed ({report.failures()}); nothing was "
            "written. Fix the credentials or the URL, or add it anyway with --no-check"
        )
        self.report = report


def timed(system: str, url: str, call: Callable[[], object]) -> Probe:
    """Run one probe and classify what happened (never raises an IntegrationError)."""
    started = time.perf_counter()
    try:
        call()
    except AuthenticationError as exc:
        return _probe(system, url, started, reachable=True, authenticated=False, detail=str(exc))
    except IntegrationError as exc:
        status = status_of(exc)
        answered = status is not None and status < 400
        return _probe(
            system,
            url,
            started,
            reachable=status is not None,
            authenticated=True if answered else None,
            detail=str(exc),
        )
    return _probe(system, url, started, reachable=True, authenticated=True, detail="ok")


def _probe(
    system: str,
    url: str,
    started: float,
    *,
    reachable: bool,
    authenticated: bool | None,
    detail: str,
) -> Probe:
    latency = round((time.perf_counter() - started) * 1000) if reachable else None
    return Probe(system, url, reachable, authenticated, latency, detail)


def unreadable(system: str, url: str, exc: Exception) -> Probe:
    """A system whose credentials could not even be read or used: not probed."""
    return Probe(system, url, False, None, None, str(exc))


def siesa_probes(config: ClientConfig, siesa: SiesaCredentials, http: httpx.Client) -> list[Probe]:
    """The ERP's one read."""
    try:
        source = make_source(config, siesa, http=http)
    except IntegrationError as exc:
        return [unreadable("siesa", config.siesa_api_url, exc)]
    try:
        return [timed("siesa", config.siesa_api_url, source.probe)]
    finally:
        source.close()


def product_probes(
    config: ClientConfig, product: ProductCredentials, http: httpx.Client
) -> list[Probe]:
    """The product's read at each of its services."""
    adapter = get_adapter_class(config.product_type)(product, config, http=http)
    try:
        probes = []
        for service, url in adapter.probe_urls().items():
            name = config.product_type if service == "api" else f"{config.product_type} {service}"
            probes.append(timed(name, url, partial(adapter.probe, url)))
        return probes
    finally:
        adapter.close()


def check_connections(
    config: ClientConfig,
    siesa: SiesaCredentials | Exception,
    product: ProductCredentials | Exception,
) -> CheckReport:
    """Probe the ERP and each service of the product; a credential given as an error is reported."""
    probes: list[Probe] = []
    with make_http_client(timeout=PROBE_TIMEOUT_SECONDS) as http:
        if isinstance(siesa, Exception):
            probes.append(unreadable("siesa", config.siesa_api_url, siesa))
        else:
            probes += siesa_probes(config, siesa, http)
        if isinstance(product, Exception):
            probes.append(unreadable(config.product_type, config.product_api_url, product))
        else:
            probes += product_probes(config, product, http)
    return CheckReport(config.client_id, probes)


def check_new_client_connections(new: NewClient) -> None:
    """`client add`'s check with the documents' credentials: ConnectionCheckFailed when one fails."""
    report = check_connections(
        new.config,
        SiesaCredentials.model_validate(new.siesa_credentials),
        ProductCredentials.model_validate(new.product_credentials),
    )
    if not report.ok:
        raise ConnectionCheckFailed(report)


@translate_aws_errors
def check_client(client_id: str, *, deployment: Deployment | None = None) -> CheckReport:
    """Probe a registered client's systems with its stored credentials."""
    target = resolve(deployment)
    config = get_config(target, client_id)
    siesa: SiesaCredentials | Exception
    product: ProductCredentials | Exception
    try:
        siesa = siesa_credentials(target, config)
    except IntegrationError as exc:
        siesa = exc
    try:
        product = product_credentials(target, config)
    except IntegrationError as exc:
        product = exc
    return check_connections(config, siesa, product)
