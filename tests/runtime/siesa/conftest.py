"""Fixtures of the Connekta tests: moto's AWS with the compiled mappings, and loopback simulators.

`connekta_platform` starts moto's in-process AWS with the platform's tables and
bucket (created from the runtime's own schemas), uploads the bundle that the
real compiler makes from mappings/ (the Connekta overrides included), and
wires clients whose ERP is a `ConnektaSim` and whose product is a Kong or WMS
simulator, all on ephemeral loopback ports.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local.sim.catalog import Catalog
from local.sim.connekta import DEFAULT_CONNI_KEY, DEFAULT_CONNI_TOKEN, ConnektaSim
from local.sim.kong import DEFAULT_KONG_API_KEY, KongSim
from local.sim.server import SimServer
from local.sim.wms import DEFAULT_WMS_API_KEY, WmsSim
from runtime.config import ClientConfig
from runtime.config_store import ConfigStore
from runtime.http import SlidingWindowBudget

HERE = Path(__file__).parent
for folder in (HERE, HERE.parent / "runtime"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
from connekta_helpers import connekta_settings  # noqa: E402
from moto_platform import (  # noqa: E402
    AwsResources,
    aws_env,
    compiled_bundle_dir,
    platform_resources,
    put_secret,
    upload_bundle,
)

__all__ = ["aws_env", "compiled_bundle_dir"]  # fixtures offered to this folder


@dataclass
class ConnektaPlatform:
    """moto's AWS, the compiled bundle, and loopback simulators wired to clients."""

    s3: Any
    dynamodb: Any
    secretsmanager: Any
    bucket: str
    stack: ExitStack
    servers: list[SimServer] = field(default_factory=list)

    def serve(self, app: Any) -> str:
        """Run a WSGI app on an ephemeral loopback port; returns its base URL."""
        server = self.stack.enter_context(SimServer(app))
        self.servers.append(server)
        return server.url

    def connekta(
        self, companies: Catalog | dict[int, Catalog], **options: Any
    ) -> tuple[ConnektaSim, str]:
        """A Connekta tenant serving these companies' catalogs; returns it and its base URL."""
        sim = ConnektaSim(companies, **options)
        return sim, self.serve(sim.wsgi_app)

    def kong(self) -> tuple[KongSim, str]:
        """A Kong simulator; returns it and its API URL."""
        sim = KongSim(api_keys=DEFAULT_KONG_API_KEY)
        return sim, self.serve(sim.wsgi_app) + "/api/v1"

    def wms(self) -> tuple[WmsSim, str]:
        """A WMS simulator (both services under one URL); returns it and its API URL."""
        sim = WmsSim(api_keys=DEFAULT_WMS_API_KEY)
        return sim, self.serve(sim.combined_app) + "/api/v1"

    def put_secret(self, client_id: str, system: str, value: dict[str, Any] | str) -> None:
        """Create or replace `siesa-integration/{client_id}/{system}`."""
        put_secret(self.secretsmanager, client_id, system, value)

    def client(
        self,
        client_id: str,
        *,
        product_type: str,
        siesa_url: str,
        product_url: str,
        conni_key: str = DEFAULT_CONNI_KEY,
        conni_token: str = DEFAULT_CONNI_TOKEN,
        connekta: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> ClientConfig:
        """Write a Connekta client's config and both secrets, pointing at the given simulators."""
        self.put_secret(
            client_id,
            "siesa",
            {"api_url": siesa_url, "conni_key": conni_key, "conni_token": conni_token},
        )
        product_key = DEFAULT_KONG_API_KEY if product_type == "kong" else DEFAULT_WMS_API_KEY
        self.put_secret(
            client_id,
            product_type,
            {
                "product_type": product_type,
                "api_url": product_url,
                "api_key": product_key,
                "tenant_id": client_id,
            },
        )
        values: dict[str, Any] = {
            "client_id": client_id,
            "client_name": f"Empresa {client_id}",
            "product_type": product_type,
            "siesa_api_url": siesa_url,
            "product_api_url": product_url,
            "field_mappings_key": f"connekta-{product_type}",
            "siesa_dialect": "connekta",
            "connekta": connekta_settings(**(connekta or {})),
        }
        values.update(overrides)
        return ConfigStore().put(values)

    def ndjson(self, key: str) -> list[dict[str, Any]]:
        """The records of one NDJSON object of the run store."""
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8")
        return [json.loads(line) for line in body.splitlines() if line.strip()]


@pytest.fixture
def aws(aws_env: None) -> Iterator[AwsResources]:
    """moto's AWS with the clients and runs tables and the config bucket."""
    with platform_resources() as resources:
        yield resources


@pytest.fixture
def connekta_platform(
    aws: AwsResources, compiled_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConnektaPlatform]:
    """AWS (moto) with the compiled bundle uploaded, and a place to start simulators.

    The process-wide Siesa request budget is replaced by a fresh one so tests
    never wait on each other's requests.
    """
    import runtime.siesa.budget as siesa_budget

    monkeypatch.setattr(siesa_budget, "SIESA_BUDGET", SlidingWindowBudget(100, 60.0))
    upload_bundle(aws.s3, aws.bucket, compiled_bundle_dir)
    with ExitStack() as stack:
        yield ConnektaPlatform(*aws, stack)
