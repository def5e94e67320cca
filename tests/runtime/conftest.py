"""Shared fixtures for the runtime tests: AWS through moto, client configs, secrets, mappings.

`aws` starts moto's in-process mock with the platform's tables and bucket
created from the runtime's own schemas, and hands back an `AwsWorld` with
helpers to seed clients, secrets and mapping bundles. Every cache the
runtime keeps per container (secrets, mapping modules and
registered secret values) is cleared around each test; boto3 clients are reused.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from contract.manifest import Manifest, ManifestEntry
from local.sim import (
    DEFAULT_KONG_API_KEY,
    DEFAULT_SIESA_API_KEY,
    DEFAULT_WMS_API_KEY,
    Catalog,
    KongSim,
    SiesaSim,
    SimServer,
    WmsSim,
)
from runtime import settings
from runtime.config import ClientConfig
from runtime.config_store import ConfigStore
from runtime.http import SlidingWindowBudget

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
from moto_platform import (
    aws_env,
    compiled_bundle_dir,
    platform_resources,
    put_secret,
    put_signed_manifest,
    upload_bundle,
)

__all__ = ["aws_env", "compiled_bundle_dir"]  # fixtures offered to this folder

SIESA_TEST_URL = "https://cliente-a.siesa.com/api/v1"
KONG_TEST_URL = "https://cliente-a.kong.com/api/v1"


def client_values(**overrides: Any) -> dict[str, Any]:
    """A valid clients-table item (design document §1) with `overrides` applied."""
    values: dict[str, Any] = {
        "client_id": "cliente-a",
        "client_name": "Empresa A S.A.",
        "enabled": True,
        "product_type": "kong",
        "siesa_api_url": SIESA_TEST_URL,
        "product_api_url": KONG_TEST_URL,
        "sync_schedule": "rate(6 hours)",
        "field_mappings_key": "kong",
    }
    values.update(overrides)
    return values


@dataclass
class AwsWorld:
    """moto's AWS with the platform's resources, and helpers to seed them."""

    s3: Any
    dynamodb: Any
    secretsmanager: Any
    bucket: str

    @property
    def configs(self) -> ConfigStore:
        return ConfigStore()

    def put_client(self, **overrides: Any) -> ClientConfig:
        """Write a valid client config through the store."""
        return self.configs.put(client_values(**overrides))

    def put_raw_item(self, item: dict[str, Any]) -> None:
        """Write an item as is, bypassing validation (to test what reading a bad item does)."""
        self.dynamodb.put_item(TableName=settings.clients_table(), Item=item)

    def put_secret(self, client_id: str, system: str, value: dict[str, Any] | str) -> str:
        """Create or replace `siesa-integration/{client_id}/{system}`."""
        return put_secret(self.secretsmanager, client_id, system, value)

    def put_bundle(
        self,
        modules: dict[str, str],
        *,
        product_types: dict[str, str] | None = None,
        manifest_override: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Upload mapping modules (name -> source) and the manifest the compiler would write.

        The entries carry what the hand-written modules declare (`KONG_MAPPING_SOURCE`):
        source `NAME.map`, source hash zeros, compiler version `test`.
        """
        prefix = settings.mappings_prefix()
        entries = []
        for name, source in modules.items():
            data = source.encode("utf-8")
            self.s3.put_object(Bucket=self.bucket, Key=f"{prefix}{name}.py", Body=data)
            entries.append(
                ManifestEntry(
                    name=name,
                    product_type=(product_types or {}).get(name, "kong"),
                    version=1,
                    source=f"{name}.map",
                    source_sha256="0" * 64,
                    bases=(),
                    module=f"{name}.py",
                    module_sha256=hashlib.sha256(data).hexdigest(),
                    compiler_version="test",
                )
            )
        text = Manifest.of("test", tuple(entries)).to_json()
        if manifest_override is not None:
            text = json.dumps(manifest_override)
        put_signed_manifest(self.s3, self.bucket, text.encode(), prefix)
        manifest: dict[str, Any] = json.loads(text)
        return manifest

    def object_text(self, key: str) -> str:
        return str(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8"))

    def ndjson(self, key: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.object_text(key).splitlines() if line.strip()]

    def keys(self, prefix: str) -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        found: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(found)


@pytest.fixture
def aws(aws_env: None) -> Iterator[AwsWorld]:
    """moto's AWS with the clients and runs tables and the config bucket."""
    with platform_resources() as resources:
        yield AwsWorld(*resources)


KONG_MAPPING_SOURCE = '''\
"""Hand-written stand-in for a compiled kong.map (docs/mapping-language.md interface)."""

MAPPING = {"name": "kong", "product_type": "kong", "version": 1, "source": "kong.map",
           "source_sha256": "0000000000000000000000000000000000000000000000000000000000000000",
           "compiler_version": "test"}
FIELDS = (
    {"canonical": "id", "type": "string", "required": True, "sources": ("f_codigo",), "target": "product_id", "line": 3},
    {"canonical": "name", "type": "string", "required": True, "sources": ("f_nombre",), "target": "name", "line": 4},
    {"canonical": "stock_quantity", "type": "int", "required": True, "sources": ("f_cantidad",), "target": "quantity", "line": 5},
    {"canonical": "ean", "type": "string", "required": False, "sources": ("f_ean",), "target": "barcode", "line": 6},
    {"canonical": "rfid_tag_id", "type": "string", "required": False, "sources": ("f_tag_rfid",), "target": "rfid_tag_id", "line": 7},
)
ID_FIELD = "id"
LINE_MAP = {}


def _text(value):
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _issue(record_id, field, line, value, reason, severity="error", action="reject"):
    return {"record_id": record_id, "field": field, "line": line, "value": value,
            "reason": reason, "severity": severity, "action": action}


def to_canonical(record):
    issues = []
    record_id = _text(record.get("f_codigo"))
    name = _text(record.get("f_nombre"))
    if record_id is None:
        issues.append(_issue(None, "id", 3, record.get("f_codigo"), "required value is missing"))
    if name is None:
        issues.append(_issue(record_id, "name", 4, record.get("f_nombre"), "required value is missing"))
    raw_quantity = record.get("f_cantidad")
    quantity = None
    try:
        number = float(str(raw_quantity).strip())
        if number == int(number):
            quantity = int(number)
    except (TypeError, ValueError):
        pass
    if quantity is None:
        issues.append(_issue(record_id, "stock_quantity", 5, raw_quantity, "not a whole number"))
    elif quantity < 0:
        issues.append(_issue(record_id, "stock_quantity", 5, raw_quantity, "must be >= 0"))
    ean = _text(record.get("f_ean"))
    if ean is not None and not (len(ean) == 13 and ean.isdigit()):
        issues.append(_issue(record_id, "ean", 6, record.get("f_ean"), "must be 13 digits",
                             severity="warning", action="drop"))
        ean = None
    if any(issue["severity"] == "error" for issue in issues):
        return None, issues
    canonical = {"id": record_id, "name": name, "stock_quantity": quantity, "ean": ean,
                 "rfid_tag_id": _text(record.get("f_tag_rfid"))}
    return canonical, issues


def to_product(canonical):
    return {"product_id": canonical["id"], "external_reference": canonical["id"],
            "name": canonical["name"], "barcode": canonical["ean"],
            "quantity": canonical["stock_quantity"], "rfid_tag_id": canonical["rfid_tag_id"]}


def map_record(record):
    canonical, issues = to_canonical(record)
    return ([] if canonical is None else [canonical]), issues
'''


@pytest.fixture
def kong_mapping_source() -> str:
    """Source of a small hand-written module that follows the compiled-mapping interface."""
    return KONG_MAPPING_SOURCE


# --- compiled mappings and the simulators, for the handler tests ---------------------------


@dataclass
class Platform:
    """moto's AWS plus loopback simulators of Siesa, Kong and WMS, and helpers to wire a client."""

    aws: AwsWorld
    stack: ExitStack
    servers: list[SimServer] = field(default_factory=list)

    def serve(self, app: Any) -> str:
        """Run a WSGI app on an ephemeral loopback port; returns its base URL."""
        server = self.stack.enter_context(SimServer(app))
        self.servers.append(server)
        return server.url

    def siesa(
        self, catalog: Catalog, *, api_key: str = DEFAULT_SIESA_API_KEY, **options: Any
    ) -> tuple[SiesaSim, str]:
        """A Siesa simulator serving `catalog`; returns it and its API URL."""
        sim = SiesaSim(catalog, api_keys=api_key, **options)
        return sim, self.serve(sim.wsgi_app) + "/api/v1"

    def kong(self, *, api_key: str = DEFAULT_KONG_API_KEY, **options: Any) -> tuple[KongSim, str]:
        """A Kong simulator; returns it and its API URL."""
        sim = KongSim(api_keys=api_key, **options)
        return sim, self.serve(sim.wsgi_app) + "/api/v1"

    def wms(
        self, *, api_key: str = DEFAULT_WMS_API_KEY, separate_services: bool = False, **options: Any
    ) -> tuple[WmsSim, str, dict[str, str]]:
        """A WMS simulator; returns it, its API URL and (when separate) per-service endpoints."""
        sim = WmsSim(api_keys=api_key, **options)
        base = self.serve(sim.combined_app) + "/api/v1"
        endpoints: dict[str, str] = {}
        if separate_services:
            endpoints = {
                "inventory": self.serve(sim.inventory_app),
                "warehouse": self.serve(sim.warehouse_app),
            }
        return sim, base, endpoints

    def client(
        self,
        client_id: str,
        *,
        product_type: str,
        siesa_url: str,
        product_url: str,
        siesa_key: str = DEFAULT_SIESA_API_KEY,
        product_key: str | None = None,
        service_endpoints: dict[str, str] | None = None,
        field_mappings_key: str | None = None,
        **overrides: Any,
    ) -> ClientConfig:
        """Write the client's config and both secrets, pointing at the given simulators.

        The client's mapping is its product's (`kong`, `wms`) unless `field_mappings_key` names another.
        """
        default_key = DEFAULT_KONG_API_KEY if product_type == "kong" else DEFAULT_WMS_API_KEY
        self.aws.put_secret(client_id, "siesa", {"api_url": siesa_url, "api_key": siesa_key})
        product_secret: dict[str, Any] = {
            "product_type": product_type,
            "api_url": product_url,
            "api_key": product_key or default_key,
            "tenant_id": client_id,
        }
        if service_endpoints:
            product_secret["service_endpoints"] = service_endpoints
        self.aws.put_secret(client_id, product_type, product_secret)
        return self.aws.put_client(
            client_id=client_id,
            product_type=product_type,
            siesa_api_url=siesa_url,
            product_api_url=product_url,
            field_mappings_key=field_mappings_key or product_type,
            **overrides,
        )


@pytest.fixture
def platform(
    aws: AwsWorld, compiled_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platform]:
    """AWS (moto) with the compiled bundle uploaded, and a place to start simulators.

    The process-wide Siesa request budget is replaced by a fresh one so tests never
    wait on each other's requests.
    """
    import runtime.siesa.budget as siesa_budget

    monkeypatch.setattr(siesa_budget, "SIESA_BUDGET", SlidingWindowBudget(100, 60.0))
    upload_bundle(aws.s3, aws.bucket, compiled_bundle_dir)
    with ExitStack() as stack:
        yield Platform(aws=aws, stack=stack)
