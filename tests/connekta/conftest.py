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
from moto import mock_aws

from runtime import aws as aws_clients
from runtime import bundle, observability, secrets, settings
from runtime.config import ClientConfig
from runtime.config_store import CLIENTS_TABLE_SCHEMA, ConfigStore
from runtime.http import SlidingWindowBudget
from runtime.local.sim.catalog import Catalog
from runtime.local.sim.connekta import DEFAULT_CONNI_KEY, DEFAULT_CONNI_TOKEN, ConnektaSim
from runtime.local.sim.kong import DEFAULT_KONG_API_KEY, KongSim
from runtime.local.sim.server import SimServer
from runtime.local.sim.wms import DEFAULT_WMS_API_KEY, WmsSim
from runtime.sync_state import RUNS_TABLE_SCHEMA

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from connekta_helpers import connekta_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def _reset_runtime_caches() -> None:
    secrets.clear_cache()
    bundle.clear_cache()
    observability.forget_secrets()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake AWS credentials, default resource names, no endpoint override, fresh caches."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "ENVIRONMENT": "test",
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        settings.CLIENTS_TABLE_ENV,
        settings.RUNS_TABLE_ENV,
        settings.CONFIG_BUCKET_ENV,
        settings.MAPPINGS_PREFIX_ENV,
        settings.BATCH_SIZE_ENV,
        settings.RUN_PAGE_SIZE_ENV,
        settings.SECRETS_TTL_ENV,
    ):
        monkeypatch.delenv(name, raising=False)
    _reset_runtime_caches()
    yield
    _reset_runtime_caches()


@pytest.fixture(scope="session")
def compiled_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mappings/ compiled once per session by the real compiler (modules + manifest.json)."""
    from compiler.bundle import compile_paths

    out = tmp_path_factory.mktemp("connekta-bundle") / "mappings"
    compile_paths([REPO_ROOT / "mappings"], out)
    return out


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
        name = f"siesa-integration/{client_id}/{system}"
        text = value if isinstance(value, str) else json.dumps(value)
        try:
            self.secretsmanager.create_secret(Name=name, SecretString=text)
        except self.secretsmanager.exceptions.ResourceExistsException:
            self.secretsmanager.put_secret_value(SecretId=name, SecretString=text)

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
def aws(aws_env: None) -> Iterator[tuple[Any, Any, Any, str]]:
    """moto's AWS with the clients and runs tables and the config bucket."""
    with mock_aws():
        s3 = aws_clients.client("s3")
        dynamodb = aws_clients.client("dynamodb")
        dynamodb.create_table(TableName=settings.clients_table(), **CLIENTS_TABLE_SCHEMA)
        dynamodb.create_table(TableName=settings.runs_table(), **RUNS_TABLE_SCHEMA)
        bucket = settings.config_bucket()
        s3.create_bucket(Bucket=bucket)
        yield s3, dynamodb, aws_clients.client("secretsmanager"), bucket


@pytest.fixture
def connekta_platform(
    aws: tuple[Any, Any, Any, str], compiled_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConnektaPlatform]:
    """AWS (moto) with the compiled bundle uploaded, and a place to start simulators.

    The process-wide Siesa request budget is replaced by a fresh one so tests
    never wait on each other's requests.
    """
    import runtime.siesa.connekta as connekta_source

    monkeypatch.setattr(connekta_source, "SIESA_BUDGET", SlidingWindowBudget(100, 60.0))
    s3, dynamodb, secretsmanager, bucket = aws
    prefix = settings.mappings_prefix()
    for path in sorted(compiled_bundle_dir.iterdir()):
        s3.put_object(Bucket=bucket, Key=prefix + path.name, Body=path.read_bytes())
    with ExitStack() as stack:
        yield ConnektaPlatform(s3, dynamodb, secretsmanager, bucket, stack)
